#include "secrets/keyring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "common/base64.h"
#include "common/files.h"
#include "common/ids.h"

namespace crmhost {
namespace {

constexpr char kMagic[2] = {'C', '1'};
constexpr size_t kIdBytes = 8, kNonceBytes = 12, kTagBytes = 16;
constexpr size_t kHeader = sizeof kMagic + kIdBytes + kNonceBytes;

std::string key_id(const std::array<uint8_t, 32>& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(key.data(), key.size(), digest);
  return hex_encode(digest, kIdBytes);
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

MasterKey::~MasterKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Expected<MasterKey> parse_master_key(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  auto raw = base64_decode(text);
  if (!raw.ok() || raw->size() != 32) {
    if (raw.ok()) OPENSSL_cleanse(raw->data(), raw->size());
    return Error{"not a crmhost master key (32 bytes in base64; make one with crmhost keygen)",
                 ErrorKind::kBadInput};
  }
  MasterKey key;
  std::copy(raw->begin(), raw->end(), key.bytes.begin());
  OPENSSL_cleanse(raw->data(), raw->size());
  key.id = key_id(key.bytes);
  return key;
}

Expected<MasterKey> load_master_key(const std::string& ref) {
  std::string text;
  if (ref.rfind("file:", 0) == 0) {
    std::string path = ref.substr(5);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return Error{"master key file " + path + " cannot be read", ErrorKind::kBadInput};
    if (st.st_mode & (S_IRWXG | S_IRWXO))
      return Error{"master key file " + path + " may be read by group or other (chmod 600 it)",
                   ErrorKind::kBadInput};
    auto read = read_file(path);
    if (!read.ok())
      return Error{"master key file " + path + " cannot be read", ErrorKind::kBadInput};
    text = std::move(*read);
  } else if (ref.rfind("env:", 0) == 0) {
    const char* value = std::getenv(ref.substr(4).c_str());
    if (value == nullptr || *value == '\0')
      return Error{"environment variable " + ref.substr(4) + " is not set", ErrorKind::kBadInput};
    text = value;
  } else {
    return Error{"master_key must be file:/path or env:NAME", ErrorKind::kBadInput};
  }
  auto key = parse_master_key(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key.ok()) return Error{ref + ": " + key.error(), ErrorKind::kBadInput};
  return key;
}

Expected<std::string> write_new_master_key(const std::string& path) {
  MasterKey key;
  if (RAND_bytes(key.bytes.data(), static_cast<int>(key.bytes.size())) != 1)
    return Error{"the system's random source failed", ErrorKind::kInternal};
  key.id = key_id(key.bytes);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error{"cannot create " + path + " (it must not exist yet)", ErrorKind::kBadInput};
  std::string text = base64_encode(key.bytes.data(), key.bytes.size()) + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  OPENSSL_cleanse(text.data(), text.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return Error{"cannot write " + path, ErrorKind::kUnavailable};
  }
  return key.id;
}

std::string secret_aad(const IntegrationKey& integration, std::string_view field) {
  std::string aad = "crmhost-secret-v1";
  for (std::string_view part : {std::string_view(integration.tenant_id),
                                std::string_view(integration.integration_id), field}) {
    aad.push_back('\0');
    aad.append(part);
  }
  return aad;
}

Keyring::Keyring(MasterKey key) : key_(std::move(key)) {}

std::string Keyring::key_id_of(std::string_view sealed) {
  if (sealed.size() < kHeader + kTagBytes || sealed.substr(0, 2) != std::string_view(kMagic, 2))
    return "";
  return hex_encode(reinterpret_cast<const unsigned char*>(sealed.data() + 2), kIdBytes);
}

std::string Keyring::seal(std::string_view plaintext, std::string_view aad) const {
  const MasterKey& key = key_;
  std::string out(kHeader + plaintext.size() + kTagBytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  std::copy(kMagic, kMagic + 2, p);
  // The id's hex back to its 8 bytes.
  for (size_t i = 0; i < kIdBytes; ++i)
    p[2 + i] = static_cast<unsigned char>(std::stoi(key_.id.substr(2 * i, 2), nullptr, 16));
  unsigned char* nonce = p + 2 + kIdBytes;
  if (RAND_bytes(nonce, kNonceBytes) != 1) std::abort();  // never seal under a predictable nonce
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok =
      ctx &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), p + kHeader, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), p + kHeader + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          p + kHeader + plaintext.size()) == 1;
  if (!ok) std::abort();  // an EVP failure here is a broken OpenSSL; never write plaintext
  return out;
}

Expected<std::string> Keyring::open(std::string_view sealed, std::string_view aad) const {
  std::string id = key_id_of(sealed);
  if (id.empty()) return Error{"not a sealed secret", ErrorKind::kBadInput};
  if (id != key_.id)
    return Error{"the master key with id " + id + " is not configured", ErrorKind::kNotFound};
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t n = sealed.size() - kHeader - kTagBytes;
  std::string out(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  std::array<unsigned char, kTagBytes> tag;
  std::copy(p + kHeader + n, p + kHeader + n + kTagBytes, tag.begin());
  bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.bytes.data(),
                         p + 2 + kIdBytes) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, p + kHeader,
                        static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return Error{"a secret sealed under key " + id +
                     " does not open here (altered, or copied from another row)",
                 ErrorKind::kBadInput};
  }
  return out;
}

}  // namespace crmhost
