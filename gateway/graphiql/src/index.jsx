// The gateway's GraphiQL page: the dashboard query to start with, and in `switchyard demo`
// a demo token in the headers editor (the page's <meta name="switchyard-demo-token">).
import React from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import "graphiql/graphiql.css";

const query = `query Dashboard {
  user(id: 7) {
    name
    orders(first: 10) { total payment { status } }
    unreadNotificationCount
    notifications(first: 5) { message }
  }
}`;

// `#live` opens on the live example instead: a subscription to the signed-in user's
// notifications (place an order in another tab to see one arrive).
const live = `subscription Live {
  notifications {
    message
    createdAt
    user { name }
  }
}`;
const livePage = window.location.hash.startsWith("#live");

const token = document
  .querySelector('meta[name="switchyard-demo-token"]')
  ?.getAttribute("content");
const headers = token
  ? JSON.stringify({ authorization: `Bearer ${token}` }, null, 2)
  : undefined;

// Subscriptions go over a WebSocket on the same path (graphql-transport-ws); the demo
// token authenticates it in `connection_init`, as browsers cannot set a socket's headers.
const socketUrl = `${window.location.protocol === "https:" ? "wss:" : "ws:"}//${window.location.host}${window.location.pathname}`;
const fetcher = createGraphiQLFetcher({
  url: window.location.pathname,
  subscriptionUrl: socketUrl,
  wsConnectionParams: token ? { Authorization: `Bearer ${token}` } : {},
});

createRoot(document.getElementById("graphiql")).render(
  <GraphiQL
    fetcher={fetcher}
    defaultQuery={livePage ? live : query}
    headers={headers}
    defaultEditorToolsVisibility={headers ? "headers" : false}
  />,
);

// `#run` (or `#live-run`) runs the query once the page is ready (the browser tests use it).
if (window.location.hash === "#run" || window.location.hash === "#live-run") {
  const run = () => {
    const button = document.querySelector(".graphiql-execute-button");
    if (button) {
      button.click();
    } else {
      setTimeout(run, 50);
    }
  };
  setTimeout(run, 100);
}
