/** NumPy .npy (format 1.0) for float32 and int32 arrays, little-endian, C order: numpy.load reads them. */
import { promises as fs } from 'fs';

type NpyArray = Float32Array | Int32Array;

export function encodeNpy(data: NpyArray, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape.join(', ')}] holds ${count} values but the array has ${data.length}`);
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function decodeNpy(buf: Buffer): { data: NpyArray; shape: number[] } {
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy file (bad magic)');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  if (/'fortran_order':\s*True/.test(header)) throw new Error('npy: fortran_order arrays are not supported');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const bodyStart = start + headerLen;
  const bytes = new Uint8Array(count * 4);
  bytes.set(buf.subarray(bodyStart, bodyStart + count * 4));
  if (descr === '<f4') return { data: new Float32Array(bytes.buffer), shape };
  if (descr === '<i4') return { data: new Int32Array(bytes.buffer), shape };
  throw new Error(`npy: dtype ${descr} is not supported (float32 <f4 and int32 <i4 are)`);
}

export async function writeNpy(file: string, data: NpyArray, shape: readonly number[]): Promise<void> {
  await fs.writeFile(file, encodeNpy(data, shape));
}

export async function readNpy(file: string): Promise<{ data: NpyArray; shape: number[] }> {
  return decodeNpy(await fs.readFile(file));
}
