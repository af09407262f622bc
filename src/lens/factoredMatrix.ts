/**
 * FactoredMatrix: a (batch of) low-rank matrices kept as a product A·B, mirroring TransformerLens's
 * `FactoredMatrix` (e.g. the OV circuit W_V·W_O [L, H, D, D] of every head, or QK = W_Q·W_Kᵀ).
 *
 * Ownership: the constructor takes ownership of the tensors it is given (pass `t.clone()`, which shares the
 * buffer, to keep your own handle); `dispose()` frees them. Every getter and method returns new tensors or new
 * FactoredMatrix objects that the caller owns and must dispose. The decompositions (svd, eigenvalues, norm, ...)
 * read the factors once (`await data()`), do the small-matrix work in float64 JS, and return float32 tensors.
 */
import * as tf from "@tensorflow/tfjs";
import { broadcastBatchShape, matMulBroadcast } from "./util/matMul";
import { eigenvaluesGeneral } from "./eigen";
import { matmul, svdProduct, type SvdResult } from "./linalg";

/** The float64 SVD of every batch element, concatenated batch-major (U [nb,m,r], S [nb,r], V [nb,n,r]). */
interface BatchSvd extends SvdResult {
  readonly r: number;
}

function transposeLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

const broadcastBatch = (a: number[], b: number[]) => broadcastBatchShape(a, b, "FactoredMatrix: A and B");

/** Takes ownership of t; returns a float32 tensor of exactly `shape` (t itself when it already is one). */
function own(t: tf.Tensor, shape: number[]): tf.Tensor {
  if (t.dtype === "float32" && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
  const out = tf.tidy(() => tf.broadcastTo(tf.cast(t, "float32"), shape));
  t.dispose();
  return out;
}

/** Per batch element, M (rows×r) with column j scaled by S_j^power; `transposed` writes it as r×rows. */
function scaleColumns(
  M: Float64Array, S: Float64Array, nb: number, rows: number, r: number, power: number, transposed: boolean,
): Float32Array {
  const out = new Float32Array(nb * rows * r);
  for (let b = 0; b < nb; b++) {
    for (let j = 0; j < r; j++) {
      const f = power === 1 ? S[b * r + j] : Math.pow(S[b * r + j], power);
      for (let i = 0; i < rows; i++) {
        const dst = b * rows * r + (transposed ? j * rows + i : i * r + j);
        out[dst] = M[b * rows * r + i * r + j] * f;
      }
    }
  }
  return out;
}

/** A·B kept factored: A [..., m, k], B [..., k, n] with broadcastable leading (batch) dims. */
export class FactoredMatrix {
  /** Left factor [...batch, ldim, mdim], owned by this object. */
  readonly A: tf.Tensor;
  /** Right factor [...batch, mdim, rdim], owned by this object. */
  readonly B: tf.Tensor;
  /** Rows of the product (m). */
  readonly ldim: number;
  /** Inner (hidden) dimension k. */
  readonly mdim: number;
  /** Columns of the product (n). */
  readonly rdim: number;
  /** Leading batch dims (after broadcasting A against B). */
  readonly batchShape: number[];
  /** Shape of the product: [...batch, ldim, rdim]. */
  readonly shape: number[];
  private svdCache: Promise<BatchSvd> | null = null;

  /** Takes ownership of A [..., m, k] and B [..., k, n]; non-float32 factors are cast, batch dims broadcast. */
  constructor(A: tf.Tensor, B: tf.Tensor) {
    if (A.rank < 2 || B.rank < 2) {
      throw new Error(`FactoredMatrix: A and B need rank ≥ 2, got [${A.shape}] and [${B.shape}]; reshape vectors to matrices`);
    }
    const [m, k] = A.shape.slice(-2);
    const [k2, n] = B.shape.slice(-2);
    if (k !== k2) {
      throw new Error(`FactoredMatrix: A [${A.shape}] has ${k} columns but B [${B.shape}] has ${k2} rows; they must match`);
    }
    if (A === B) B = B.clone();
    this.batchShape = broadcastBatch(A.shape.slice(0, -2), B.shape.slice(0, -2));
    this.A = own(A, [...this.batchShape, m, k]);
    this.B = own(B, [...this.batchShape, k, n]);
    [this.ldim, this.mdim, this.rdim] = [m, k, n];
    this.shape = [...this.batchShape, m, n];
  }

  /** Number of dims of the product (batch dims + 2). */
  get ndim(): number {
    return this.shape.length;
  }

  private get batchSize(): number {
    return this.batchShape.reduce((x, y) => x * y, 1);
  }

  /** The materialised product A·B [..., m, n] (new tensor). */
  get AB(): tf.Tensor {
    return tf.matMul(this.A, this.B);
  }

  /** B·A [..., k, k] (new tensor); needs ldim == rdim. */
  get BA(): tf.Tensor {
    this.requireSquare("BA");
    return tf.matMul(this.B, this.A);
  }

  /** The transpose (A·B)ᵀ = Bᵀ·Aᵀ as a new FactoredMatrix. */
  get T(): FactoredMatrix {
    const [a, b] = tf.tidy(() => [transposeLast(this.B), transposeLast(this.A)]);
    return new FactoredMatrix(a, b);
  }

  private requireSquare(what: string): void {
    if (this.ldim !== this.rdim) {
      throw new Error(`FactoredMatrix.${what} needs a square product (ldim == rdim), got ${this.ldim}×${this.rdim}`);
    }
  }

  private svdF64(): Promise<BatchSvd> {
    this.svdCache ??= (async () => {
      const [a, b] = await Promise.all([this.A.data(), this.B.data()]);
      const { ldim: m, mdim: k, rdim: n, batchSize: nb } = this;
      const r = Math.min(m, k, n);
      const [U, S, V] = [new Float64Array(nb * m * r), new Float64Array(nb * r), new Float64Array(nb * n * r)];
      for (let i = 0; i < nb; i++) {
        const res = svdProduct(a.subarray(i * m * k, (i + 1) * m * k), b.subarray(i * k * n, (i + 1) * k * n), m, k, n);
        U.set(res.U, i * m * r);
        S.set(res.S, i * r);
        V.set(res.V, i * n * r);
      }
      return { U, S, V, r };
    })();
    return this.svdCache;
  }

  /**
   * Thin SVD of the product without materialising it: A·B = U·diag(S)·Vᵀ with U [..., m, r], S [..., r]
   * (descending), V [..., n, r], r = min(m, k, n) (= k, the hidden dim, for low-rank circuits). Computed once in
   * float64 and cached. Sign convention: the largest-magnitude entry of each U column is positive.
   */
  async svd(): Promise<{ U: tf.Tensor; S: tf.Tensor; V: tf.Tensor }> {
    const { U, S, V, r } = await this.svdF64();
    const b = this.batchShape;
    return {
      U: tf.tensor(Float32Array.from(U), [...b, this.ldim, r]),
      S: tf.tensor(Float32Array.from(S), [...b, r]),
      V: tf.tensor(Float32Array.from(V), [...b, this.rdim, r]),
    };
  }

  /**
   * Eigenvalues of B·A [..., k, k] (its non-zero ones are those of A·B), computed in float64; needs ldim == rdim.
   * Returns real and imaginary parts [..., k], each batch element ordered by descending |λ|, then re, then im.
   */
  async eigenvalues(): Promise<{ re: tf.Tensor; im: tf.Tensor }> {
    this.requireSquare("eigenvalues");
    const [a, b] = await Promise.all([this.A.data(), this.B.data()]);
    const { ldim: m, mdim: k, batchSize: nb } = this;
    const re = new Float32Array(nb * k);
    const im = new Float32Array(nb * k);
    for (let i = 0; i < nb; i++) {
      const ba = matmul(b.subarray(i * k * m, (i + 1) * k * m), a.subarray(i * m * k, (i + 1) * m * k), k, m, k);
      const e = eigenvaluesGeneral(ba, k);
      re.set(e.re, i * k);
      im.set(e.im, i * k);
    }
    return { re: tf.tensor(re, [...this.batchShape, k]), im: tf.tensor(im, [...this.batchShape, k]) };
  }

  /** Frobenius norm of each product, sqrt(Σ S²), as a tensor [...batch] (a scalar without batch dims). */
  async norm(): Promise<tf.Tensor> {
    const { S, r } = await this.svdF64();
    const out = new Float32Array(this.batchSize);
    for (let i = 0; i < out.length; i++) {
      let s2 = 0;
      for (let j = 0; j < r; j++) s2 += S[i * r + j] ** 2;
      out[i] = Math.sqrt(s2);
    }
    return tf.tensor(out, this.batchShape);
  }

  /**
   * Top-left corner of the product from the corners of A and B. As TransformerLens's `get_corner`, every dim
   * (batch dims included) is cut to its first k entries: [min(k, b₀), ..., min(k, m), min(k, n)].
   */
  async getCorner(k = 3): Promise<tf.Tensor> {
    return tf.tidy(() => {
      const bk = this.batchShape.map((d) => Math.min(d, k));
      const zeros = new Array<number>(this.ndim).fill(0);
      const a = tf.slice(this.A, zeros, [...bk, Math.min(k, this.ldim), this.mdim]);
      const b = tf.slice(this.B, zeros, [...bk, this.mdim, Math.min(k, this.rdim)]);
      return tf.matMul(a, b);
    });
  }

  /**
   * Right multiplication this·other. A tensor other [..., n, p] gives FactoredMatrix(A, B·other) when n > k,
   * else FactoredMatrix(A·B, other) (as TransformerLens); a FactoredMatrix gives (this·other.A)·other.B, kept
   * factored. `other` is not consumed. For a vector use `matvec`.
   */
  matmul(other: tf.Tensor | FactoredMatrix): FactoredMatrix {
    if (other instanceof FactoredMatrix) {
      const left = this.matmul(other.A);
      try {
        return left.matmul(other.B);
      } finally {
        left.dispose();
      }
    }
    if (other.rank < 2) throw new Error(`FactoredMatrix.matmul: got a rank-${other.rank} tensor; use matvec for vectors`);
    if (other.shape[other.rank - 2] !== this.rdim) {
      throw new Error(`FactoredMatrix.matmul: other [${other.shape}] needs ${this.rdim} rows to multiply ${this.shape}`);
    }
    if (this.rdim > this.mdim) return new FactoredMatrix(this.A.clone(), matMulBroadcast(this.B, other));
    return new FactoredMatrix(this.AB, other.clone());
  }

  /** Left multiplication other·this for a tensor other [..., p, m] (mirrors TL's __rmatmul__); for vectors use vecmat. */
  lmatmul(other: tf.Tensor): FactoredMatrix {
    if (other.rank < 2) throw new Error(`FactoredMatrix.lmatmul: got a rank-${other.rank} tensor; use vecmat for vectors`);
    if (other.shape[other.rank - 1] !== this.ldim) {
      throw new Error(`FactoredMatrix.lmatmul: other [${other.shape}] needs ${this.ldim} columns to multiply ${this.shape}`);
    }
    if (this.ldim > this.mdim) return new FactoredMatrix(matMulBroadcast(other, this.A), this.B.clone());
    return new FactoredMatrix(other.clone(), this.AB);
  }

  /** this·v for v [..., n] → tensor [..., m], computed as A·(B·v). */
  matvec(v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.squeeze(matMulBroadcast(this.A, matMulBroadcast(this.B, tf.expandDims(v, -1))), [-1]));
  }

  /** v·this for v [..., m] → tensor [..., n], computed as (v·A)·B. */
  vecmat(v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.squeeze(matMulBroadcast(matMulBroadcast(tf.expandDims(v, -2), this.A), this.B), [-2]));
  }

  /** Scalar multiple (scales A). */
  mul(scalar: number): FactoredMatrix {
    return new FactoredMatrix(tf.mul(this.A, scalar), this.B.clone());
  }

  /** The i-th element along the first batch dim (negative i counts from the end). */
  index(i: number): FactoredMatrix {
    if (this.batchShape.length === 0) throw new Error("FactoredMatrix.index: there is no batch dim to index");
    const size = this.batchShape[0];
    const j = i < 0 ? i + size : i;
    if (!Number.isInteger(j) || j < 0 || j >= size) {
      throw new Error(`FactoredMatrix.index: index ${i} is out of range for a first batch dim of size ${size}`);
    }
    const pick = (t: tf.Tensor): tf.Tensor =>
      tf.tidy(() => tf.squeeze(tf.slice(t, [j, ...new Array<number>(t.rank - 1).fill(0)], [1, ...t.shape.slice(1)]), [0]));
    return new FactoredMatrix(pick(this.A), pick(this.B));
  }

  /** Inserts a size-1 batch dim at `axis` (0 ≤ axis ≤ number of batch dims). */
  unsqueeze(axis: number): FactoredMatrix {
    if (!Number.isInteger(axis) || axis < 0 || axis > this.batchShape.length) {
      throw new Error(`FactoredMatrix.unsqueeze: axis ${axis} must be an integer in [0, ${this.batchShape.length}]`);
    }
    return new FactoredMatrix(tf.expandDims(this.A, axis), tf.expandDims(this.B, axis));
  }

  /** The same product with balanced factors: FactoredMatrix(U·√S, √S·Vᵀ) ([..., m, r] and [..., r, n]). */
  async makeEven(): Promise<FactoredMatrix> {
    const { U, S, V, r } = await this.svdF64();
    const nb = this.batchSize;
    const a = scaleColumns(U, S, nb, this.ldim, r, 0.5, false);
    const b = scaleColumns(V, S, nb, this.rdim, r, 0.5, true);
    return new FactoredMatrix(tf.tensor(a, [...this.batchShape, this.ldim, r]), tf.tensor(b, [...this.batchShape, r, this.rdim]));
  }

  /** TL's collapse_l: diag(S)·Vᵀ [..., r, n], the right factor of U·(S·Vᵀ). */
  async collapseL(): Promise<tf.Tensor> {
    const { S, V, r } = await this.svdF64();
    return tf.tensor(scaleColumns(V, S, this.batchSize, this.rdim, r, 1, true), [...this.batchShape, r, this.rdim]);
  }

  /** TL's collapse_r: U·diag(S) [..., m, r], the left factor of (U·S)·Vᵀ. */
  async collapseR(): Promise<tf.Tensor> {
    const { U, S, r } = await this.svdF64();
    return tf.tensor(scaleColumns(U, S, this.batchSize, this.ldim, r, 1, false), [...this.batchShape, this.ldim, r]);
  }

  /** E.g. "FactoredMatrix: Shape([12,12,768,768]), Hidden Dim(64)". */
  toString(): string {
    return `FactoredMatrix: Shape([${this.shape}]), Hidden Dim(${this.mdim})`;
  }

  /** Frees A and B (and the cached SVD). */
  dispose(): void {
    this.A.dispose();
    this.B.dispose();
    this.svdCache = null;
  }
}
