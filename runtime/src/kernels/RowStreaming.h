//===- RowStreaming.h - Few-row GEMM loops, vectorized per ISA --*- C++ -*-===//
//
// The products of a few rows read B once, front to back: in place for a
// batch matmul (streamRowsAnyM), panel by panel for pre-packed weights
// (panelRowsAnyM). They are plain loops that the compiler vectorizes for the
// ISA of the file that includes them: BatchMatmul.cpp and PackedGemm.cpp for
// the generic variant, x86/GemmAvx2.cpp and x86/GemmAvx512.cpp for theirs.
//
// Everything here is in an anonymous namespace so that each of those files
// gets its own copy. As shared inline definitions, the linker could keep the
// AVX-512 file's copy for the generic caller as well.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_ROWSTREAMING_H
#define KILN_RUNTIME_KERNELS_ROWSTREAMING_H

#include "kernels/GemmProblem.h"

namespace kiln::gemm {
namespace {

// Item = (batch entry, block of streamColumns columns). Inlined into one
// function per ISA so that the compiler vectorizes it for that ISA.
template <int Rows>
__attribute__((always_inline)) inline void streamRowsBody(const Problem &p,
                                                          int64_t item) {
  const int64_t cols = p.streamColumns;
  int64_t nBlocks = (p.n + cols - 1) / cols;
  int64_t i = item / nBlocks, n0 = (item % nBlocks) * cols;
  int64_t nc = p.n - n0 < cols ? p.n - n0 : cols;
  const float *a = p.a.base + (p.a.sizes[0] == 1 ? 0 : i * p.a.strides[0]);
  const float *b = p.b.base + (p.b.sizes[0] == 1 ? 0 : i * p.b.strides[0]) +
                   n0; // unit column stride
  float *c =
      const_cast<float *>(p.c.base) + i * p.c.strides[0] + n0 * p.c.strides[2];
  alignas(64) float acc[Rows][kStreamMaxColumns];
  for (int r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < nc; ++j)
      acc[r][j] = 0;
  for (int64_t k = 0; k < p.k; ++k) {
    const float *row = b + k * p.b.strides[1];
    for (int r = 0; r < Rows; ++r) {
      float av = a[r * p.a.strides[1] + k * p.a.strides[2]];
      for (int64_t j = 0; j < nc; ++j)
        acc[r][j] += av * row[j];
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < nc; ++j)
      c[r * p.c.strides[1] + j * p.c.strides[2]] = acc[r][j];
}

__attribute__((always_inline)) inline void streamRowsAnyM(const Problem &p,
                                                          int64_t item) {
  switch (p.m) {
  case 1:
    return streamRowsBody<1>(p, item);
  case 2:
    return streamRowsBody<2>(p, item);
  case 3:
    return streamRowsBody<3>(p, item);
  default:
    return streamRowsBody<4>(p, item);
  }
}

// Rows x (Panels * 32) of C from Panels consecutive panels, with the
// accumulators in registers and each panel read once, front to back.
template <int Rows, int Panels>
__attribute__((always_inline)) inline void panelRowsBody(const PanelProblem &p,
                                                         int64_t panel) {
  constexpr int64_t W = kPackedPanel;
  float acc[Rows][Panels * W] = {};
  const float *b = p.packed + panel * p.k * W;
  for (int64_t k = 0; k < p.k; ++k) {
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; ++r) {
      float av = p.a[r * p.sam + k * p.sak];
#pragma clang loop unroll(full)
      for (int q = 0; q < Panels; ++q)
        for (int j = 0; j < W; ++j)
          acc[r][q * W + j] += av * b[q * p.k * W + k * W + j];
    }
  }
  int64_t n0 = panel * W;
  int64_t cols = p.n - n0 < Panels * W ? p.n - n0 : Panels * W;
  for (int r = 0; r < Rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      p.c[r * p.scm + (n0 + j) * p.scn] = acc[r][j];
  if (p.epilogueFn)
    p.epilogueFn(p.epilogue, p.c + n0 * p.scn, Rows, cols, p.scm, p.scn, n0);
}

// One item: up to 4 rows take two panels at a time while two remain (more
// independent FMA chains); more rows take one, so that the Rows x 32
// accumulators (16 zmm at 8 rows) stay in registers.
template <int Rows>
__attribute__((always_inline)) inline void
panelRowsItem(const PanelProblem &p, int64_t first, int64_t last) {
  int64_t panel = first;
  if constexpr (Rows <= 4)
    for (; panel + 2 <= last; panel += 2)
      panelRowsBody<Rows, 2>(p, panel);
  for (; panel < last; ++panel)
    panelRowsBody<Rows, 1>(p, panel);
}

__attribute__((always_inline)) inline void
panelRowsUpTo8(const PanelProblem &p, int64_t first, int64_t last) {
  switch (p.m) {
  case 1:
    return panelRowsItem<1>(p, first, last);
  case 2:
    return panelRowsItem<2>(p, first, last);
  case 3:
    return panelRowsItem<3>(p, first, last);
  case 4:
    return panelRowsItem<4>(p, first, last);
  case 5:
    return panelRowsItem<5>(p, first, last);
  case 6:
    return panelRowsItem<6>(p, first, last);
  case 7:
    return panelRowsItem<7>(p, first, last);
  default:
    return panelRowsItem<8>(p, first, last);
  }
}

// More than Group rows (8; 6 for NEON's registers): each panel serves its
// rows Group at a time through `upToGroup`, read from memory by the first
// group and from cache (k x 32 floats: 96 KB at k = 768) by the others, so
// the weights still stream once.
template <int Group, typename UpToGroup>
__attribute__((always_inline)) inline void
panelRowsInGroups(const PanelProblem &p, int64_t first, int64_t last,
                  UpToGroup upToGroup) {
  if (p.m <= Group)
    return upToGroup(p, first, last);
  for (int64_t panel = first; panel < last; ++panel)
    for (int64_t r0 = 0; r0 < p.m; r0 += Group) {
      PanelProblem rows = p;
      rows.a += r0 * p.sam;
      rows.c += r0 * p.scm;
      rows.m = p.m - r0 < Group ? p.m - r0 : Group;
      upToGroup(rows, panel, panel + 1);
    }
}

__attribute__((always_inline)) inline void
panelRowsAnyM(const PanelProblem &p, int64_t first, int64_t last) {
  panelRowsInGroups<8>(p, first, last, panelRowsUpTo8);
}

} // namespace
} // namespace kiln::gemm

#endif // KILN_RUNTIME_KERNELS_ROWSTREAMING_H
