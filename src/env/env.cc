#include "env/env.h"

#include <openssl/rand.h>

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

}  // namespace cs
