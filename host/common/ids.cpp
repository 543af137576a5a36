#include "common/ids.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstring>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace crmhost {

std::string hex_encode(const unsigned char* data, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

namespace {

// CSPRNG output drawn in blocks: one RAND_bytes call per kBlock bytes instead of one per id
// (each call takes OpenSSL's DRBG lock; ~6.6k instructions, a twentieth of an ingest).
class RandomBytes {
 public:
  void fill(unsigned char* out, size_t n) {
    if (used_ + n > kBlock) {
      // RAND_bytes failing means the process has no entropy source: nothing sane can continue.
      if (RAND_bytes(block_, kBlock) != 1) throw std::runtime_error("RAND_bytes failed");
      used_ = 0;
    }
    std::memcpy(out, block_ + used_, n);
    used_ += n;
  }

 private:
  static constexpr size_t kBlock = 512;
  unsigned char block_[kBlock] = {};
  size_t used_ = kBlock;
};

}  // namespace

std::string new_id(const char* prefix) {
  thread_local RandomBytes random;
  unsigned char bytes[13];
  // The first 6 bytes are the wall clock in milliseconds, big-endian, so ids made close in time
  // sort together: a store index on them grows at its right edge instead of touching a random
  // page per insert. The other 7 are CSPRNG output, which keeps ids unguessable.
  auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  for (int i = 5; i >= 0; --i, ms >>= 8) bytes[i] = static_cast<unsigned char>(ms & 0xff);
  random.fill(bytes + 6, sizeof bytes - 6);
  return std::string(prefix) + "_" + hex_encode(bytes, sizeof bytes);
}

std::string sha256_hex(const std::string& bytes) {
  // Fetched once: EVP_sha256() alone makes EVP_Digest look the algorithm up on every call.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, kSha256, nullptr);
  return hex_encode(digest, len);
}

}  // namespace crmhost

namespace crmhost {

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    std::abort();  // never hand out a guessable key
  return hex_encode(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

}  // namespace crmhost
