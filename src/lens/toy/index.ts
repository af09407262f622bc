/** Toy models of superposition. */
export { ToyModel, generateToyBatch, type ToyModelConfig, type ToyGeometry } from "./tms";
