#!/usr/bin/env python3
"""Static instruction mix of the projection GEMM tiles' K-loops, from the machine code nvcc makes (no GPU needed).

Compiles cuda/src/kernels.cu to a cubin for one architecture, disassembles it with cuobjdump, and for every kernel
whose mangled name matches the pattern prints its largest loop that holds tensor-core instructions (HMMA): the loop's
instructions, its HMMA, instructions per HMMA (the issue slots each mma.sync costs), its spill loads/stores and the
most frequent opcodes. An m16n8k8 TF32 HMMA holds a scheduler's tensor pipe about 4 cycles, so a loop that issues many
more than 4 instructions per HMMA cannot keep the tensor cores busy. Used for docs/benchmarks.md (session 10).

  CUDA_HOME=<cuda or the PyPI venv's nvidia/cu13> python3 bench/kge-gpu/sass-loops.py [--arch 90] [name regex]
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tool(name):
    home = os.environ.get('CUDA_HOME')
    path = os.path.join(home, 'bin', name) if home else shutil.which(name)
    if not path or not os.path.exists(path):
        sys.exit(f'sass-loops: {name} not found ({"CUDA_HOME=" + home if home else "not on PATH; set CUDA_HOME"})')
    return path


def functions(sass):
    """{mangled name: [(address, instruction text)]} from cuobjdump -sass output."""
    out, cur = {}, None
    for line in sass.splitlines():
        m = re.search(r'Function : (\S+)', line)
        if m:
            cur = out.setdefault(m.group(1), [])
            continue
        m = re.match(r'\s+/\*([0-9a-f]+)\*/\s+(.*?);', line)
        if m and cur is not None:
            cur.append((int(m.group(1), 16), m.group(2)))
    return out


def opcode(ins):
    words = ins.split()
    op = words[1] if words[0].startswith('@') else words[0]
    return op.split('.')[0]


def largest_hmma_loop(ins):
    """(first, last, HMMA count) of the largest backward-branch range holding HMMA, or None."""
    addr = {a: i for i, (a, _) in enumerate(ins)}
    hmma = [i for i, (_, s) in enumerate(ins) if opcode(s) == 'HMMA']
    best = None
    for i, (a, s) in enumerate(ins):
        m = re.search(r'BRA.*?(0x[0-9a-f]+)', s)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target >= a or target not in addr:
            continue
        j = addr[target]
        n = sum(1 for k in hmma if j <= k <= i)
        if n and (best is None or i - j > best[1] - best[0]):
            best = (j, i, n)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--arch', default='90')
    ap.add_argument('pattern', nargs='?', default='project(Back[XM])?Kernel')
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cubin = os.path.join(tmp, 'kernels.cubin')
        subprocess.run([tool('nvcc'), '-std=c++17', '-O3', f'-arch=sm_{args.arch}', f'-DADKG_CUDA_MIN_CC={args.arch}', '-cubin',
                        os.path.join(ROOT, 'cuda', 'src', 'kernels.cu'), '-o', cubin], check=True)
        sass = subprocess.run([tool('cuobjdump'), '-sass', cubin], check=True, capture_output=True, text=True).stdout
    for name, ins in sorted(functions(sass).items()):
        if not re.search(args.pattern, name):
            continue
        # Template arguments <MATH, MINB, CHUNK> as they appear in the mangled name (MATH 0 simt, 1 tf32x3, 2 tf32).
        m = re.search(r'ILi(\d)ELi(\d)ELb(\d)E', name)
        kernel = re.search(r'(project\w*?Kernel)', name)
        label = f'{kernel.group(1)} math {m.group(1)} blocks {m.group(2)} chunk {m.group(3)}' if m and kernel else name
        loop = largest_hmma_loop(ins)
        if not loop:
            print(f'{label}: no HMMA loop ({len(ins)} instructions)')
            continue
        j, i, n = loop
        body = [s for _, s in ins[j:i + 1]]
        ops = collections.Counter(opcode(s) for s in body)
        spills = ops['STL'] + ops['LDL']
        top = ', '.join(f'{k} {v}' for k, v in ops.most_common(8))
        print(f'{label}: K-loop {len(body)} instructions, {n} HMMA, {len(body) / n:.1f} per HMMA, {spills} spill '
              f'loads/stores; {top}')


if __name__ == '__main__':
    main()
