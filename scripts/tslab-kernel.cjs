// Starts the project's tslab kernel from any working directory: it changes to the project root first, so notebooks
// import `./src/lens/index` and tslab finds the project's @types/node (tslab compiles with rootDir = its working
// directory). The kernelspec that `npm run kernel:install` writes runs `node <project>/scripts/tslab-kernel.cjs kernel
// --config-path {connection_file}`. Plain CommonJS so that Node runs it without tsx; one process, no shell, so Jupyter's
// interrupt (SIGINT) and shutdown reach tslab itself.
"use strict";
const { join, resolve } = require("node:path");

const root = resolve(__dirname, "..");
process.chdir(root);
const bin = join(root, "node_modules", "tslab", "bin", "tslab");
process.argv = [process.argv[0], bin, ...process.argv.slice(2)];
require(join(root, "node_modules", "tslab", "dist", "main.js")).main();
