// Vendors the browser build of mqtt.js into the Python package so the kiosk page works offline
// (pip installs carry it; no CDN). Run from this directory: `npm ci && npm run build`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "node_modules", "mqtt");
const outDir = join(here, "..", "avatar_node", "web", "static", "vendor");
const version = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version;

mkdirSync(outDir, { recursive: true });
copyFileSync(join(pkgDir, "dist", "mqtt.esm.js"), join(outDir, "mqtt.esm.js"));
copyFileSync(join(pkgDir, "LICENSE.md"), join(outDir, "mqtt.LICENSE.md"));
writeFileSync(
  join(outDir, "README.md"),
  `# vendor\n\n\`mqtt.esm.js\` is mqtt.js ${version} (MIT, see \`mqtt.LICENSE.md\`), copied from\n` +
    "`node_modules/mqtt/dist/mqtt.esm.js` by `web/build.mjs` (`make web`). Do not edit by hand.\n",
);
console.log(`vendored mqtt.js ${version} -> ${outDir}`);
