#include "audit/merkle.h"

#include <algorithm>

#include "common/sha256.h"

namespace cs::merkle {

namespace {

// Largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

std::string RangeRoot(const std::vector<std::string>& leaves, size_t lo, size_t hi) {
  size_t n = hi - lo;
  if (n == 0) return EmptyRoot();
  if (n == 1) return leaves[lo];
  size_t k = SplitPoint(n);
  return NodeHash(RangeRoot(leaves, lo, lo + k), RangeRoot(leaves, lo + k, hi));
}

// RFC 6962 §2.1.1 PATH(m, D[lo:hi]), with the subtree roots from `root_of`.
Status Path(uint64_t m, uint64_t lo, uint64_t hi, const RangeRootFn& root_of, std::vector<std::string>& out) {
  uint64_t n = hi - lo;
  if (n <= 1) return Status::Ok();
  uint64_t k = SplitPoint(n);
  if (m < k) {
    CS_RETURN_IF_ERROR(Path(m, lo, lo + k, root_of, out));
    CS_ASSIGN_OR_RETURN(std::string sibling, root_of(lo + k, hi));
    out.push_back(std::move(sibling));
  } else {
    CS_RETURN_IF_ERROR(Path(m - k, lo + k, hi, root_of, out));
    CS_ASSIGN_OR_RETURN(std::string sibling, root_of(lo, lo + k));
    out.push_back(std::move(sibling));
  }
  return Status::Ok();
}

// RFC 6962 §2.1.2 SUBPROOF(m, D[lo:hi], complete).
Status SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool complete, const RangeRootFn& root_of,
                std::vector<std::string>& out) {
  uint64_t n = hi - lo;
  if (m == n) {
    if (!complete) {
      CS_ASSIGN_OR_RETURN(std::string root, root_of(lo, hi));
      out.push_back(std::move(root));
    }
    return Status::Ok();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    CS_RETURN_IF_ERROR(SubProof(m, lo, lo + k, complete, root_of, out));
    CS_ASSIGN_OR_RETURN(std::string right, root_of(lo + k, hi));
    out.push_back(std::move(right));
  } else {
    CS_RETURN_IF_ERROR(SubProof(m - k, lo + k, hi, false, root_of, out));
    CS_ASSIGN_OR_RETURN(std::string left, root_of(lo, lo + k));
    out.push_back(std::move(left));
  }
  return Status::Ok();
}

RangeRootFn Over(const std::vector<std::string>& leaves) {
  return [&leaves](uint64_t lo, uint64_t hi) -> Result<std::string> { return RangeRoot(leaves, lo, hi); };
}

}  // namespace

std::string LeafHash(std::string_view data) { return Sha256({std::string_view("\x00", 1), data}); }
std::string NodeHash(std::string_view left, std::string_view right) { return Sha256({"\x01", left, right}); }
std::string EmptyRoot() { return Sha256({}); }

std::string RootOf(const std::vector<std::string>& leaves) { return RangeRoot(leaves, 0, leaves.size()); }

Result<Frontier> Frontier::Parse(int64_t size, std::string_view serialized) {
  size_t expected = static_cast<size_t>(__builtin_popcountll(static_cast<unsigned long long>(size)));
  if (size < 0 || serialized.size() != expected * 32) return DataLoss("the stored Merkle frontier is inconsistent");
  Frontier f;
  f.size_ = size;
  for (size_t i = 0; i < expected; ++i) serialized.copy(f.nodes_.emplace_back().data(), 32, i * 32);
  return f;
}

void Frontier::Append(std::string_view leaf_hash) {
  Node node{};
  leaf_hash.copy(node.data(), node.size());
  // Like a binary counter: merge equal-sized subtrees while the low bit carries.
  for (uint64_t m = static_cast<uint64_t>(size_); m & 1; m >>= 1) {
    // One contiguous input: a single digest update is measurably cheaper here.
    char both[65];
    both[0] = '\x01';
    std::copy(nodes_.back().begin(), nodes_.back().end(), both + 1);
    std::copy(node.begin(), node.end(), both + 33);
    Sha256Into({std::string_view(both, sizeof both)}, node.data());
    nodes_.pop_back();
  }
  nodes_.push_back(node);
  ++size_;
}

std::string Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  std::string root(View(nodes_.back()));
  for (size_t i = nodes_.size() - 1; i-- > 0;) root = NodeHash(View(nodes_[i]), root);
  return root;
}

std::string Frontier::Serialize() const {
  std::string out;
  for (const auto& n : nodes_) out += View(n);
  return out;
}

Result<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t tree_size, const RangeRootFn& root_of) {
  std::vector<std::string> out;
  CS_RETURN_IF_ERROR(Path(index, 0, tree_size, root_of, out));
  return out;
}

Result<std::vector<std::string>> ConsistencyProof(uint64_t old_size, uint64_t new_size, const RangeRootFn& root_of) {
  std::vector<std::string> out;
  CS_RETURN_IF_ERROR(SubProof(old_size, 0, new_size, true, root_of, out));
  return out;
}

std::vector<std::string> InclusionProof(const std::vector<std::string>& leaves, size_t index) {
  return InclusionProof(index, leaves.size(), Over(leaves)).value();  // a vector's ranges cannot fail
}

std::vector<std::string> ConsistencyProof(const std::vector<std::string>& leaves, size_t old_size) {
  return ConsistencyProof(old_size, leaves.size(), Over(leaves)).value();
}

uint64_t LargestPowerOfTwoBelow(uint64_t n) { return SplitPoint(n); }

bool VerifyInclusion(std::string_view leaf_hash, uint64_t index, uint64_t tree_size,
                     const std::vector<std::string>& proof, std::string_view root) {
  if (index >= tree_size) return false;
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, std::string_view old_root, std::string_view new_root,
                       const std::vector<std::string>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  std::vector<std::string> path = proof;
  if ((old_size & (old_size - 1)) == 0) path.insert(path.begin(), std::string(old_root));
  if (path.empty()) return false;
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0];
  std::string sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace cs::merkle
