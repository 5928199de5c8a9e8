// Bundles src/ into dist/ (index.html and assets/app.js, assets/app.css) with esbuild:
// no CDN and nothing fetched at run time; the dash serves dist/ at /.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
rmSync(`${here}dist`, { recursive: true, force: true });
mkdirSync(`${here}dist/assets`, { recursive: true });
await build({
  entryPoints: { app: `${here}src/main.js` },
  bundle: true,
  minify: true,
  sourcemap: true,
  target: ["es2020"],
  outdir: `${here}dist/assets`,
  loader: { ".css": "css" },
  logLevel: "warning",
});
copyFileSync(`${here}src/index.html`, `${here}dist/index.html`);
console.log("web UI built in web/dist");
