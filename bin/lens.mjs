#!/usr/bin/env node
// The `lens` command (package.json "bin"): runs scripts/lens.ts through tsx (its ESM and CommonJS hooks).
import { register as registerCjs } from "tsx/cjs/api";
import { register } from "tsx/esm/api";

register();
registerCjs();
await import("../scripts/lens.ts");
