#include "audit/merkle.h"

#include "common/sha256.h"

namespace cs::merkle {

namespace {

// Largest power of two strictly smaller than n (n >= 2).
size_t SplitPoint(size_t n) {
  size_t k = 1;
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

void Path(const std::vector<std::string>& leaves, size_t m, size_t lo, size_t hi, std::vector<std::string>& out) {
  size_t n = hi - lo;
  if (n <= 1) return;
  size_t k = SplitPoint(n);
  if (m < k) {
    Path(leaves, m, lo, lo + k, out);
    out.push_back(RangeRoot(leaves, lo + k, hi));
  } else {
    Path(leaves, m - k, lo + k, hi, out);
    out.push_back(RangeRoot(leaves, lo, lo + k));
  }
}

void SubProof(const std::vector<std::string>& leaves, size_t m, size_t lo, size_t hi, bool complete,
              std::vector<std::string>& out) {
  size_t n = hi - lo;
  if (m == n) {
    if (!complete) out.push_back(RangeRoot(leaves, lo, hi));
    return;
  }
  size_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(leaves, m, lo, lo + k, complete, out);
    out.push_back(RangeRoot(leaves, lo + k, hi));
  } else {
    SubProof(leaves, m - k, lo + k, hi, false, out);
    out.push_back(RangeRoot(leaves, lo, lo + k));
  }
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
  for (size_t i = 0; i < expected; ++i) f.nodes_.emplace_back(serialized.substr(i * 32, 32));
  return f;
}

void Frontier::Append(std::string_view leaf_hash) {
  std::string node(leaf_hash);
  // Like a binary counter: merge equal-sized subtrees while the low bit carries.
  for (uint64_t m = static_cast<uint64_t>(size_); m & 1; m >>= 1) {
    node = NodeHash(nodes_.back(), node);
    nodes_.pop_back();
  }
  nodes_.push_back(std::move(node));
  ++size_;
}

std::string Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  std::string root = nodes_.back();
  for (size_t i = nodes_.size() - 1; i-- > 0;) root = NodeHash(nodes_[i], root);
  return root;
}

std::string Frontier::Serialize() const {
  std::string out;
  for (const auto& n : nodes_) out += n;
  return out;
}

std::vector<std::string> InclusionProof(const std::vector<std::string>& leaves, size_t index) {
  std::vector<std::string> out;
  Path(leaves, index, 0, leaves.size(), out);
  return out;
}

std::vector<std::string> ConsistencyProof(const std::vector<std::string>& leaves, size_t old_size) {
  std::vector<std::string> out;
  SubProof(leaves, old_size, 0, leaves.size(), true, out);
  return out;
}

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
