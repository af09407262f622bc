// `npm start`: opens the course in JupyterLab with the project's tslab kernel — once the course exists.
import { existsSync, readdirSync } from "node:fs";

const notebooks = existsSync("notebooks") ? readdirSync("notebooks").filter((f) => f.endsWith(".ipynb")) : [];
if (notebooks.length === 0) {
  console.log("The course is not ready yet: notebooks/ has no notebooks. Meanwhile, the library works from Node:");
  console.log('  npx tsx -e \'import { HookedTransformer } from "./src/lens/index"; ...\'  (see README.md, "API tour")');
  process.exit(0);
}
console.log(`notebooks: ${notebooks.join(", ")}`);
console.log("Launching the course is part of the course issue; open the notebooks with JupyterLab and the tslab kernel.");
