// Bundles src/index.jsx (GraphiQL, React, its CSS) into ../src/http/assets/, minified and
// without source maps, so the gateway can serve GraphiQL with no CDN and a strict CSP.
import { build } from "esbuild";

await build({
  entryPoints: ["src/index.jsx"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outfile: "../src/http/assets/graphiql.js",
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl" },
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "none",
  logLevel: "info",
});
