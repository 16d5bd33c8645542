// The GraphiQL page's own script: a file, not inline, so the page's Content-Security-Policy
// can forbid inline scripts.
const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
const query = `{
  user(id: 7) {
    name
    orders(first: 10) { total payment { status } }
    unreadNotificationCount
    notifications(first: 5) { message }
  }
}`;
ReactDOM.createRoot(document.getElementById('graphiql'))
  .render(React.createElement(GraphiQL, { fetcher, defaultQuery: query }));
