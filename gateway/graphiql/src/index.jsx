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
    defaultQuery={query}
    headers={headers}
    defaultEditorToolsVisibility={headers ? "headers" : false}
  />,
);

// `#run` runs the query once the page is ready (the browser test uses it).
if (window.location.hash === "#run") {
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
