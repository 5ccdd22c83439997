// File: merkle.h
// RFC 6962 / RFC 9162 Merkle tree hashing over 32-byte leaf hashes:
// tree roots, the compact "frontier" used to extend a tree incrementally,
// inclusion and consistency proofs, and their verification.
//
// Leaf hashes are computed by the caller as SHA-256(0x00 || leaf bytes);
// interior nodes are SHA-256(0x01 || left || right).
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cs::merkle {

// Returns SHA-256(0x00 || data).
std::string LeafHash(std::string_view data);
// Returns SHA-256(0x01 || left || right).
std::string NodeHash(std::string_view left, std::string_view right);
// Returns SHA-256 of the empty string: the root of an empty tree.
std::string EmptyRoot();

// Returns the root of the tree over `leaves` (leaf hashes), computed directly.
std::string RootOf(const std::vector<std::string>& leaves);

// The right edge of a tree of `size` leaves: one perfect-subtree root per set
// bit of `size`, largest first. Appending a leaf and computing the root are
// O(log n), so signing a tree head never re-reads the whole ledger.
class Frontier {
 public:
  Frontier() = default;
  // Restores a frontier serialized by Serialize(); kDataLoss if inconsistent.
  static Result<Frontier> Parse(int64_t size, std::string_view serialized);

  void Append(std::string_view leaf_hash);
  std::string Root() const;
  int64_t size() const { return size_; }
  std::string Serialize() const;

 private:
  using Node = std::array<char, 32>;
  static std::string_view View(const Node& n) { return {n.data(), n.size()}; }
  int64_t size_ = 0;
  std::vector<Node> nodes_;  // fixed-size: appending a leaf allocates nothing
};

// Returns the root of the leaves [begin, end) of a tree: how the proofs
// below get subtree roots (from stored nodes, or computed from leaves).
using RangeRootFn = std::function<Result<std::string>(uint64_t begin, uint64_t end)>;

// The audit path of leaf `index` in a tree of `tree_size` leaves, and the
// consistency proof between sizes, asking `root_of` for O(log n) subtree
// roots. REQUIRES: index < tree_size; 0 < old_size <= new_size.
Result<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t tree_size, const RangeRootFn& root_of);
Result<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size, const RangeRootFn& root_of);

// The largest power of two strictly below n (n >= 2): where RFC 6962 splits a tree.
uint64_t LargestPowerOfTwoBelow(uint64_t n);

// Returns the audit path for leaf `index` in the tree over `leaves`.
// REQUIRES: index < leaves.size().
std::vector<std::string> InclusionProof(const std::vector<std::string>& leaves, size_t index);

// Returns the consistency proof between the tree of the first `old_size`
// leaves and the tree over all `leaves`. REQUIRES: 0 < old_size <= leaves.size().
std::vector<std::string> ConsistencyProof(const std::vector<std::string>& leaves, size_t old_size);

// Checks an inclusion proof (RFC 9162 §2.1.3.2).
bool VerifyInclusion(std::string_view leaf_hash, uint64_t index, uint64_t tree_size,
                     const std::vector<std::string>& proof, std::string_view root);

// Checks a consistency proof (RFC 9162 §2.1.4.2).
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, std::string_view old_root, std::string_view new_root,
                       const std::vector<std::string>& proof);

}  // namespace cs::merkle
