/**
 * The vocabulary of the small English-like language the bundled toy models are trained on: special tokens, then
 * punctuation, function words, verbs, places, objects and names. Every word is one token (word-level), so names,
 * places and objects are single tokens as the IOI dataset requires.
 */

/** `<|endoftext|>` is BOS, EOS and PAD (as in GPT-2); `[UNK]` stands for any word outside the vocabulary. */
export const SPECIAL_TOKENS = ["<|endoftext|>", "[UNK]"] as const;

/** Names used by `ioiDataset` by default: in training they are only ever paired with a name outside this list. */
export const HELD_OUT_PAIR_NAMES = [
  "John", "Mary", "Tom", "James", "Dan", "Sid", "Martin", "Amy", "Alice", "Bob", "Sarah", "Michael", "David", "Emma",
  "Paul", "Lisa", "Mark", "Anna", "Kate", "Peter", "Jane", "Chris", "Laura", "Ryan", "Rachel", "Kevin", "Jessica",
  "Brian", "Andrew", "Ben", "Steve", "Matt", "Adam", "Eric", "Jack", "Helen", "Robert", "Richard", "William", "George",
] as const;

/** The other names (free to pair with anything). */
export const OTHER_NAMES = [
  "Oliver", "Harry", "Noah", "Leo", "Oscar", "Arthur", "Henry", "Theo", "Freddie", "Alfie", "Charlie", "Archie",
  "Isaac", "Lucas", "Edward", "Finley", "Thomas", "Joshua", "Samuel", "Max", "Ethan", "Logan", "Mason", "Louis",
  "Felix", "Hugo", "Toby", "Elliot", "Dylan", "Jacob", "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily",
  "Florence", "Mia", "Willow", "Rosie", "Sophia", "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Evie",
  "Ella", "Ruby", "Phoebe", "Sophie", "Harper", "Millie", "Chloe", "Matilda", "Zara", "Layla", "Alex", "Nina",
  "Omar", "Yusuf", "Ali", "Hana", "Mei", "Ken", "Yuki", "Ravi", "Priya", "Arjun", "Maya", "Diego", "Lucia", "Mateo",
  "Sofia", "Pablo", "Elena", "Marco", "Giulia", "Hans", "Greta", "Lars", "Ingrid", "Pierre", "Claire", "Jules",
  "Marie", "Ivan", "Olga", "Boris", "Tanya", "Kofi", "Ama", "Tariq", "Leila", "Sam", "Zoe",
] as const;

/** Every name of the language. */
export const NAMES: readonly string[] = [...HELD_OUT_PAIR_NAMES, ...OTHER_NAMES];

/** Places (a superset of those `ioiDataset` uses). */
export const PLACES = [
  "store", "market", "park", "school", "hospital", "station", "restaurant", "office", "garden", "beach", "house",
  "library", "museum", "cafe", "zoo", "farm", "bakery", "church", "river", "lake",
] as const;

/** Objects (a superset of those `ioiDataset` uses). */
export const OBJECTS = [
  "milk", "bag", "ball", "book", "ring", "drink", "bone", "computer", "necklace", "basketball", "snack", "gift",
  "letter", "key", "flower", "hat", "apple", "cake", "pen", "map", "cup", "box", "kite", "lamp", "coin", "shirt",
] as const;

/** Everything else: sentence openers, function words, verbs, adjectives, time words, punctuation. */
export const FUNCTION_WORDS = [
  ",", ".", "When", "After", "While", "Then", "Later", "Yesterday", "Today", "The", "It", "and", "went", "to", "the",
  "were", "was", "at", "got", "gave", "handed", "passed", "a", "then", "walked", "ran", "came", "home", "with", "in",
  "morning", "evening", "afternoon", "day", "long", "happy", "sad", "tired", "sunny", "cold", "warm", "nice",
  "bought", "found", "lost", "liked", "wanted", "saw", "met", "said", "hello", "thanks", "very", "quite", "too",
  "big", "small", "red", "blue", "green", "old", "new", "of", "on", "under", "near", "because", "they", "he", "she",
  "played", "read", "ate", "drank", "sat", "stood", "laughed", "smiled", "waited", "left", "for", "hours", "there",
  "is", "open", "closed", "busy", "quiet", "raining",
] as const;

/** The whole vocabulary in id order (specials first: ids 0 and 1). Throws if a word appears twice. */
export function vocabulary(): string[] {
  const words = [...SPECIAL_TOKENS, ...FUNCTION_WORDS, ...PLACES, ...OBJECTS, ...NAMES];
  const seen = new Set<string>();
  for (const w of words) {
    if (seen.has(w)) throw new Error(`vocabulary: "${w}" is listed twice; word lists must be disjoint`);
    seen.add(w);
  }
  return words;
}

/** Word → id map of `vocabulary()`. */
export function vocabIndex(): Map<string, number> {
  return new Map(vocabulary().map((w, i) => [w, i]));
}
