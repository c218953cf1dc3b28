// The UI is built into crates/web/dist, which the strata-web crate embeds in the binary.
// Asset URLs are relative ("./assets/..."): the server answers the UI under any
// --web-route-prefix and tells the page its prefix in index.html (crates/web).
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    outDir: "../crates/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 1024,
  },
});
