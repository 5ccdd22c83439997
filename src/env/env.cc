#include "env/env.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>

#include "common/strings.h"

namespace cs {

int64_t SystemClock::NowUnixMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::MonotonicNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const Clock& RealClock() {
  static const SystemClock clock;
  return clock;
}

Result<std::string> CryptoRandom::Bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Internal("the random generator failed");
  }
  return out;
}

Result<std::string> NewId(Random& random, std::string_view prefix, size_t random_bytes) {
  CS_ASSIGN_OR_RETURN(std::string bytes, random.Bytes(random_bytes));
  std::string id(prefix);
  id += '_';
  id += HexEncode(bytes);
  return id;
}

Result<std::string> NewTimeOrderedId(Random& random, std::string_view prefix, int64_t now_ms) {
  CS_ASSIGN_OR_RETURN(std::string bytes, random.Bytes(6));
  std::string time(6, '\0');
  const uint64_t t = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0));
  for (int i = 0; i < 6; ++i) time[static_cast<size_t>(i)] = static_cast<char>((t >> (8 * (5 - i))) & 0xff);
  std::string id(prefix);
  id += '_';
  id += HexEncode(time + bytes);
  return id;
}

}  // namespace cs
