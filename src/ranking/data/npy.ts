/**
 * NumPy .npy reader and writer (format 1.0/2.0, little-endian float32/int32/float64, C order):
 * enough for EmbeddingExport files and for tests that write their own exports.
 */
import { promises as fs } from 'fs';
import { RankingInputError } from './ranking-input-error';

export type NpyDtype = 'float32' | 'int32' | 'float64';
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Int32Array | Float64Array;
}

const DESCR: Record<string, NpyDtype> = { '<f4': 'float32', '<i4': 'int32', '<f8': 'float64' };
const DESCR_OF: Record<NpyDtype, string> = { float32: '<f4', int32: '<i4', float64: '<f8' };
const BYTES: Record<NpyDtype, number> = { float32: 4, int32: 4, float64: 8 };

export function parseNpy(buf: Buffer, name = 'npy'): NpyArray {
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(`${name}: not a .npy file (bad magic)`);
  }
  const major = buf.readUInt8(6);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${name}: cannot parse .npy header ${JSON.stringify(header)}`);
  const dtype = DESCR[descr];
  if (!dtype) throw new Error(`${name}: dtype ${descr} is not supported (want <f4, <i4 or <f8)`);
  if (fortran === 'True') throw new Error(`${name}: Fortran-order arrays are not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const need = count * BYTES[dtype];
  if (buf.length - dataStart < need) throw new Error(`${name}: ${buf.length - dataStart} data bytes, shape ${JSON.stringify(shape)} needs ${need}`);
  // Copy into an aligned buffer: the header length does not guarantee alignment for every writer.
  const bytes = new Uint8Array(need);
  bytes.set(buf.subarray(dataStart, dataStart + need));
  const data = dtype === 'float32' ? new Float32Array(bytes.buffer) : dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float64Array(bytes.buffer);
  return { dtype, shape, data };
}

/** Reads a .npy file; a file that is missing, unreadable or not a .npy we can read is a RankingInputError (exit 2). */
export async function readNpy(file: string): Promise<NpyArray> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RankingInputError(file, missing ? `${file} does not exist` : `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return parseNpy(buf, file);
  } catch (e) {
    throw new RankingInputError(file, (e as Error).message, { cause: e });
  }
}

/** Index of the first NaN or ±Infinity in `data` (one pass), or -1 when every value is finite. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0, n = data.length; i < n; i++) {
    const v = data[i];
    // v - v is 0 for every finite number and NaN for NaN, ±Infinity (and undefined, a missing entry).
    if (v - v !== 0) return i;
  }
  return -1;
}

export function encodeNpy(arr: NpyArray): Buffer {
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${DESCR_OF[arr.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that the data starts on a 64-byte boundary, as numpy does.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.writeUInt8(0x93, 0);
  head.write('NUMPY', 1, 'latin1');
  head.writeUInt8(1, 6);
  head.writeUInt8(0, 7);
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export async function writeNpy(file: string, arr: NpyArray): Promise<void> {
  await fs.writeFile(file, encodeNpy(arr));
}
