//===- MemrefCopyTest.cpp - The runtime's memrefCopy on strided views -----===//
//
// Lowered memref.copy between views calls memrefCopy. Each case copies a
// strided source view into a strided destination view and compares every
// element of the destination buffer (copied and untouched) with a reference
// computed element by element, alone and on a pool of two threads (copies
// of 256 KiB and more are split over the pool).
//
//===----------------------------------------------------------------------===//

#include "PoolContext.h"

#include <gtest/gtest.h>

#include <memory>

#include <cstdint>
#include <numeric>
#include <vector>

namespace {
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
} // namespace

extern "C" void memrefCopy(int64_t elemSize, UnrankedMemRef *src,
                           UnrankedMemRef *dst);

namespace {

/// A ranked descriptor {allocated, aligned, offset, sizes, strides} as MLIR
/// lays it out, over `data`.
struct View {
  std::vector<int64_t> words;
  UnrankedMemRef unranked;
  View(float *data, int64_t offset, std::vector<int64_t> sizes,
       std::vector<int64_t> strides) {
    words = {(int64_t)(intptr_t)data, (int64_t)(intptr_t)data, offset};
    words.insert(words.end(), sizes.begin(), sizes.end());
    words.insert(words.end(), strides.begin(), strides.end());
    unranked = {(int64_t)sizes.size(), words.data()};
  }
};

struct Case {
  const char *name;
  std::vector<int64_t> sizes;
  int64_t srcOffset;
  std::vector<int64_t> srcStrides;
  int64_t dstOffset;
  std::vector<int64_t> dstStrides;
};

int64_t span(const std::vector<int64_t> &sizes,
             const std::vector<int64_t> &strides, int64_t offset) {
  int64_t last = offset;
  for (int64_t size : sizes)
    if (size == 0)
      return offset + 1;
  for (size_t i = 0; i < sizes.size(); ++i)
    last += (sizes[i] - 1) * strides[i];
  return last + 1;
}

class MemrefCopy : public ::testing::TestWithParam<Case> {};

TEST_P(MemrefCopy, MatchesElementwiseCopy) {
  const Case &c = GetParam();
  std::vector<float> src(span(c.sizes, c.srcStrides, c.srcOffset));
  std::iota(src.begin(), src.end(), 1.0f);
  std::vector<float> dst(span(c.sizes, c.dstStrides, c.dstOffset) + 7, -1.0f);
  std::vector<float> expected = dst;
  int64_t rank = c.sizes.size();
  int64_t total = 1;
  for (int64_t s : c.sizes)
    total *= s;
  for (int64_t n = 0; n < total; ++n) {
    int64_t rest = n, so = c.srcOffset, d = c.dstOffset;
    for (int64_t i = rank - 1; i >= 0; --i) {
      int64_t idx = rest % c.sizes[i];
      rest /= c.sizes[i];
      so += idx * c.srcStrides[i];
      d += idx * c.dstStrides[i];
    }
    expected[d] = src[so];
  }
  View s(src.data(), c.srcOffset, c.sizes, c.srcStrides);
  View d(dst.data(), c.dstOffset, c.sizes, c.dstStrides);
  std::vector<float> untouched = dst;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    std::unique_ptr<kiln::test::PoolContext> pool;
    if (threads > 1)
      pool = std::make_unique<kiln::test::PoolContext>(threads);
    dst = untouched;
    memrefCopy(sizeof(float), &s.unranked, &d.unranked);
    EXPECT_EQ(dst, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Views, MemrefCopy,
    ::testing::Values(
        Case{"contiguous", {2, 3, 4}, 0, {12, 4, 1}, 0, {12, 4, 1}},
        // KV-cache concat: [B, H, past, D] into the first rows of
        // [B, H, past + 1, D], and the new row after them.
        Case{"kv_past", {2, 3, 5, 8}, 0, {120, 40, 8, 1}, 0, {144, 48, 8, 1}},
        Case{"kv_new", {2, 3, 1, 8}, 0, {24, 8, 8, 1}, 40, {144, 48, 8, 1}},
        // Size-1 dims with strides that do not match (MLIR leaves them).
        Case{"unit_dims", {1, 4, 1, 6}, 3, {999, 6, 77, 1}, 0, {5, 6, 1, 1}},
        // Transposed source: no contiguous run at all.
        Case{"transposed", {4, 6}, 0, {1, 4}, 0, {6, 1}},
        // Strided innermost dims in the destination.
        Case{"gapped", {3, 4}, 2, {4, 1}, 1, {10, 2}},
        Case{"empty", {3, 0, 4}, 0, {0, 4, 1}, 0, {0, 4, 1}},
        // Over 256 KiB, split over the pool: 30 runs of [68, 130] in chunks of
        // 3, which start inside a batch.
        Case{"kv_past_large",
             {5, 6, 68, 130},
             0,
             {53040, 8840, 130, 1},
             0,
             {54600, 9100, 130, 1}},
        // Runs of one element, chunks that start inside a row.
        Case{"transposed_large", {600, 500}, 0, {1, 600}, 0, {500, 1}}),
    [](const auto &info) { return std::string(info.param.name); });

} // namespace

namespace {

// A view copied onto itself (the past part of an in-place KV cache's
// Concat) is left alone: with a destination that shares the buffer but not
// the strides, it must still copy.
TEST(MemrefCopy, ViewOntoItselfIsANoOpAndOtherAliasingStillCopies) {
  std::vector<float> cache(2 * 8 * 4);
  std::iota(cache.begin(), cache.end(), 0.0f);
  std::vector<float> before = cache;
  // [2, 3, 4] of a [2, 8, 4] cache.
  View past(cache.data(), 0, {2, 3, 4}, {32, 4, 1});
  View present(cache.data(), 0, {2, 3, 4}, {32, 4, 1});
  memrefCopy(sizeof(float), &past.unranked, &present.unranked);
  EXPECT_EQ(cache, before);

  // Same start, other strides: rows 0-2 of each batch go to rows 0, 2, 4.
  View spread(cache.data(), 0, {2, 3, 4}, {32, 8, 1});
  std::vector<float> source = cache;
  View from(source.data(), 0, {2, 3, 4}, {32, 4, 1});
  memrefCopy(sizeof(float), &from.unranked, &spread.unranked);
  for (int b = 0; b < 2; ++b)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c)
        ASSERT_EQ(cache[b * 32 + r * 8 + c], source[b * 32 + r * 4 + c]);
}

} // namespace
