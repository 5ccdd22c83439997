#include "audit/merkle.h"

#include <gtest/gtest.h>

#include "common/strings.h"

namespace cs::merkle {
namespace {

std::vector<std::string> Leaves(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(LeafHash("leaf " + std::to_string(i)));
  return out;
}

TEST(MerkleTest, MatchesTheRfc6962Definitions) {
  EXPECT_EQ(HexEncode(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // RFC 6962 leaf hash of the empty leaf: SHA-256(0x00).
  EXPECT_EQ(HexEncode(LeafHash("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  auto l = Leaves(3);
  EXPECT_EQ(RootOf({l[0]}), l[0]);
  EXPECT_EQ(RootOf(l), NodeHash(NodeHash(l[0], l[1]), l[2]));
}

TEST(MerkleTest, FrontierAgreesWithTheDirectRootAtEverySize) {
  auto leaves = Leaves(70);
  Frontier f;
  EXPECT_EQ(f.Root(), EmptyRoot());
  for (size_t n = 1; n <= leaves.size(); ++n) {
    f.Append(leaves[n - 1]);
    std::vector<std::string> prefix(leaves.begin(), leaves.begin() + static_cast<long>(n));
    ASSERT_EQ(f.Root(), RootOf(prefix)) << n;
    auto restored = Frontier::Parse(f.size(), f.Serialize());
    ASSERT_TRUE(restored.ok());
    EXPECT_EQ(restored->Root(), f.Root());
  }
  EXPECT_EQ(Frontier::Parse(5, std::string(32, 'x')).status().code(), StatusCode::kDataLoss);
}

TEST(MerkleTest, InclusionProofsVerifyAndRejectTampering) {
  for (size_t n = 1; n <= 33; ++n) {
    auto leaves = Leaves(n);
    std::string root = RootOf(leaves);
    for (size_t i = 0; i < n; ++i) {
      auto proof = InclusionProof(leaves, i);
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, proof, root)) << n << " " << i;
      EXPECT_FALSE(VerifyInclusion(LeafHash("other"), i, n, proof, root));
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, proof, root));
      }
      if (!proof.empty()) {
        auto bad = proof;
        bad[0][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root));
      }
    }
  }
}

TEST(MerkleTest, ConsistencyProofsVerifyAndRejectForks) {
  for (size_t n = 1; n <= 33; ++n) {
    auto leaves = Leaves(n);
    std::string root = RootOf(leaves);
    for (size_t m = 1; m <= n; ++m) {
      std::vector<std::string> old(leaves.begin(), leaves.begin() + static_cast<long>(m));
      std::string old_root = RootOf(old);
      auto proof = ConsistencyProof(leaves, m);
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, root, proof)) << m << " " << n;
      if (m < n) {
        // A history rewritten after the old head: the proof cannot connect them.
        auto forked = leaves;
        forked[m - 1] = LeafHash("rewritten");
        EXPECT_FALSE(VerifyConsistency(m, n, RootOf(std::vector<std::string>(forked.begin(), forked.begin() + static_cast<long>(m))),
                                       root, proof));
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, LeafHash("x"), proof));
      }
    }
  }
}

}  // namespace
}  // namespace cs::merkle
