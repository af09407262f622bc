/**
 * A minimal, code-free pickle VM for PyTorch state dicts (`data.pkl` inside a torch.save zip). It understands the
 * opcodes of pickle protocols 2–4 that torch's state-dict pickles use, and calls nothing: the only globals it accepts
 * are `collections.OrderedDict` (→ a Map), `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` (→ a tensor
 * reference) and torch storage classes (only inside persistent ids `('storage', cls, key, location, numel)`).
 * Any other global, opcode or shape of data is an Error naming it.
 */

/** Where a tensor's values are: a storage (by key in the archive) and a strided view of it, in elements. */
export interface TensorRef {
  readonly storageType: string;
  readonly storageKey: string;
  readonly storageNumel: number;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

class Global {
  constructor(readonly module: string, readonly name: string) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}
class Storage {
  constructor(readonly type: string, readonly key: string, readonly numel: number) {}
}
class Tensor {
  constructor(readonly ref: TensorRef) {}
}
class Tuple {
  constructor(readonly items: unknown[]) {}
}
const MARK = Symbol("mark");

const ALLOWED_CALLS = new Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter"]);

function isIntList(x: unknown): x is Tuple {
  return x instanceof Tuple && x.items.every((v) => typeof v === "number" && Number.isInteger(v));
}

/**
 * Runs a state-dict pickle and returns its tensors by name (in pickle order). `storageTypes` lists the accepted
 * storage class names (`FloatStorage`, …). Throws on anything that is not a flat dict of tensors.
 */
export function runStateDictPickle(buf: Buffer, source: string, storageTypes: readonly string[]): Map<string, TensorRef> {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}; only plain state dicts of tensors are read (nothing in the file is executed) — save it with torch.save(model.state_dict()) or use safetensors`);
  };
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const u8 = () => (p + 1 <= buf.length ? buf[p++] : fail("the pickle ends early"));
  const take = (n: number): Buffer => {
    if (p + n > buf.length) fail("the pickle ends early");
    const b = buf.subarray(p, p + n);
    p += n;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0) fail("the pickle ends early");
    const s = buf.toString("utf8", p, end);
    p = end + 1;
    return s;
  };
  const pop = () => (stack.length ? stack.pop() : fail("pickle stack underflow"));
  const top = () => (stack.length ? stack[stack.length - 1] : fail("pickle stack underflow"));
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("pickle MARK missing");
    return stack.splice(m as number);
  };
  const setItems = (dict: unknown, kv: unknown[]) => {
    if (!(dict instanceof Map)) fail("SETITEM(S) on something that is not a dict");
    for (let i = 0; i + 1 < kv.length; i += 2) (dict as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const makeGlobal = (module: string, name: string): Global => {
    const g = new Global(module, name);
    const isStorage = module === "torch" && storageTypes.includes(name);
    if (!isStorage && !ALLOWED_CALLS.has(g.full)) fail(`the pickle refers to ${g.full}, which is not allowed`);
    return g;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof Global) || !ALLOWED_CALLS.has(fn.full)) fail(`the pickle calls ${fn instanceof Global ? fn.full : typeof fn}, which is not allowed`);
    if (!(args instanceof Tuple)) fail("REDUCE without an argument tuple");
    const a = (args as Tuple).items;
    const f = (fn as Global).full;
    if (f === "collections.OrderedDict") {
      if (a.length) fail("OrderedDict called with arguments");
      return new Map();
    }
    if (f === "torch._utils._rebuild_parameter") {
      if (!(a[0] instanceof Tensor)) fail("_rebuild_parameter without a tensor");
      return a[0];
    }
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof Storage) || typeof offset !== "number" || !isIntList(size) || !isIntList(stride) || size.items.length !== stride.items.length) {
      fail("_rebuild_tensor_v2 with unexpected arguments");
    }
    const s = storage as Storage;
    return new Tensor({
      storageType: s.type, storageKey: s.key, storageNumel: s.numel, offset: offset as number,
      shape: (size as Tuple).items as number[], stride: (stride as Tuple).items as number[],
    });
  };
  const persistent = (pid: unknown): Storage => {
    const t = pid instanceof Tuple ? pid.items : [];
    const [tag, cls, key, , numel] = t;
    if (tag !== "storage" || !(cls instanceof Global) || cls.module !== "torch" || !storageTypes.includes(cls.name) || typeof numel !== "number") {
      fail(`unsupported persistent id (storage class ${cls instanceof Global ? cls.full : "?"}; supported: ${storageTypes.join(", ")})`);
    }
    return new Storage((cls as Global).name, String(key), numel as number);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME
      case 0x2e: { // STOP
        const root = pop();
        if (!(root instanceof Map)) fail("the pickle's top-level object is not a dict");
        const out = new Map<string, TensorRef>();
        for (const [k, v] of root as Map<unknown, unknown>) {
          if (typeof k !== "string") fail("a state-dict key is not a string");
          if (!(v instanceof Tensor)) fail(`state-dict entry "${String(k)}" is not a tensor`);
          out.set(k as string, (v as Tensor).ref);
        }
        return out;
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new Tuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new Tuple(popMark())); break; // TUPLE
      case 0x85: stack.push(new Tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new Tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new Tuple([a, b, c])); break; } // TUPLE3
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(take(2).readUInt16LE(0)); break; // BININT2
      case 0x4a: stack.push(take(4).readInt32LE(0)); break; // BININT
      case 0x8a: { // LONG1
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) fail("an integer in the pickle is too large");
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(take(8).readDoubleBE(0)); break; // BINFLOAT
      case 0x58: stack.push(take(take(4).readUInt32LE(0)).toString("utf8")); break; // BINUNICODE
      case 0x8c: stack.push(take(u8()).toString("utf8")); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(take(Number(take(8).readBigUInt64LE(0))).toString("utf8")); break; // BINUNICODE8
      case 0x55: stack.push(take(u8()).toString("latin1")); break; // SHORT_BINSTRING
      case 0x54: stack.push(take(take(4).readInt32LE(0)).toString("latin1")); break; // BINSTRING
      case 0x43: stack.push(Buffer.from(take(u8()))); break; // SHORT_BINBYTES
      case 0x42: stack.push(Buffer.from(take(take(4).readUInt32LE(0)))); break; // BINBYTES
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(take(4).readUInt32LE(0), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : take(4).readUInt32LE(0);
        if (!memo.has(i)) fail(`memo entry ${i} is missing`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: { const module = line(); stack.push(makeGlobal(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL without strings");
        stack.push(makeGlobal(module as string, name as string));
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) fail("APPEND to a non-list"); (l as unknown[]).push(v); break; } // APPEND
      case 0x65: { const vs = popMark(); const l = top(); if (!Array.isArray(l)) fail("APPENDS to a non-list"); (l as unknown[]).push(...vs); break; } // APPENDS
      case 0x62: { // BUILD: only the `_metadata` state of an OrderedDict, or a tensor's empty state, is accepted (and ignored)
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map) && !(obj instanceof Tensor)) fail("BUILD on an object that is not a dict or tensor");
        void state;
        break;
      }
      default:
        fail(`pickle opcode 0x${op.toString(16).padStart(2, "0")} at byte ${p - 1} is not supported`);
    }
  }
}
