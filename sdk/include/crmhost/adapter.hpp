// crmhost adapter SDK: the optional, header-only C++17 wrapper over adapter.h.
//
// It turns a C++ class into the C descriptor. Nothing of C++ crosses the boundary: the class
// lives behind the instance pointer, and every C entry point is a noexcept trampoline that
// catches every exception and turns it into an outcome (crmh::Error carries its own status;
// anything else becomes CRMH_INTERNAL with what() truncated into result.message).
//
//   struct Example {
//     static constexpr const char* name = "example";         // required
//     static constexpr const char* version = "1.0.0";        // required
//     static constexpr const char* description = "...";      // optional
//     static constexpr uint32_t flags = 0;                   // optional, CRMH_FLAG_*
//     Example(crmh::Host host, std::string_view config_json); // throw crmh::Error to refuse
//     crmh_status deliver(crmh_call* call, const crmh_delivery& delivery, crmh::Result& out);
//     // optional: crmh_status lookup_contact(crmh_call*, const crmh_lookup&, crmh::JsonSink,
//     //                                      crmh::Result&);
//     // optional: crmh_status test_connection(crmh_call*, crmh::Result&);
//     // optional (1.1): static constexpr crmh_oauth_provider oauth{...};
//     // optional (1.2): static constexpr const char* default_mapping = R"({...})";
//     // optional (1.2): static constexpr crmh::Pacing pacing{100, 10000, 10};
//   };
//   CRMH_CPP_ADAPTER(Example)
//
// The optional functions are detected: a class without them gets NULL (CRMH_UNSUPPORTED).
// The names live in the inline namespace crmh::v1, so the ABI version is part of every mangled
// name and a later v2 wrapper can sit beside this one.
//
// THREADING: as adapter.h says; the wrapper adds no state and no locks of its own.
#ifndef CRMHOST_ADAPTER_HPP
#define CRMHOST_ADAPTER_HPP

#include <crmhost/adapter.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace crmh {
inline namespace v1 {

// A borrowed crmh_str as a string_view; valid exactly as long as the crmh_str.
inline std::string_view view(crmh_str s) noexcept {
  return s.len == 0 ? std::string_view() : std::string_view(s.ptr, s.len);
}

// A crmh_str borrowing `s`; valid as long as the characters `s` points at.
inline crmh_str str(std::string_view s) noexcept { return crmh_str{s.data(), s.size()}; }

// An outcome other than OK, thrown by adapter code (typically CRMH_BAD_CONFIG from the
// constructor). The message must not contain a secret.
class Error : public std::runtime_error {
 public:
  Error(crmh_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  crmh_status status() const noexcept { return status_; }

 private:
  crmh_status status_;
};

// Copies `message` into result.message, truncated to fit with its NUL and never in the middle of
// a UTF-8 sequence. Touches only what the host's struct_size says exists.
inline void write_message(crmh_result* out, std::string_view message) noexcept {
  if (out == nullptr || !CRMH_HAS_FIELD(crmh_result, out, message)) return;
  std::size_t n = message.size();
  if (n > CRMH_MESSAGE_MAX - 1) {
    n = CRMH_MESSAGE_MAX - 1;
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  }
  if (n > 0) std::memcpy(out->message, message.data(), n);
  out->message[n] = '\0';
}

// The host-owned result of one call. OWNERSHIP: borrows the host's crmh_result.
class Result {
 public:
  explicit Result(crmh_result* result) noexcept : result_(result) {}
  void http_status(int32_t status) noexcept {
    if (result_ != nullptr && CRMH_HAS_FIELD(crmh_result, result_, http_status)) {
      result_->http_status = status;
    }
  }
  void retry_after_ms(int64_t ms) noexcept {
    if (result_ != nullptr && CRMH_HAS_FIELD(crmh_result, result_, retry_after_ms)) {
      result_->retry_after_ms = ms;
    }
  }
  void message(std::string_view text) noexcept { write_message(result_, text); }
  crmh_result* get() const noexcept { return result_; }

 private:
  crmh_result* result_;
};

// The host's service table plus the context naming this integration. Cheap to copy.
// OWNERSHIP: borrows both; valid from create until destroy. THREADING: thread-safe (adapter.h).
// A v1 host offers every v1.0 service, so the calls need no presence check.
class Host {
 public:
  Host(const crmh_host_api* api, void* context) noexcept : api_(api), context_(context) {}

  void log(int32_t level, std::string_view message) const noexcept {
    api_->log(context_, level, str(message));
  }
  int64_t wall_clock_ms() const noexcept { return api_->wall_clock_ms(context_); }
  int64_t monotonic_ms() const noexcept { return api_->monotonic_ms(context_); }

  // Sets response.struct_size, as adapter.h asks of the caller.
  crmh_status http_send(crmh_call* call, const crmh_http_request& request,
                        crmh_http_response& response) const noexcept {
    response.struct_size = sizeof(crmh_http_response);
    return api_->http_send(call, &request, &response);
  }
  crmh_status hmac_sha256(crmh_call* call, std::string_view secret_name, uint32_t key_format,
                          std::string_view message, uint8_t (&out)[32]) const noexcept {
    return api_->hmac_sha256(call, str(secret_name), key_format, str(message), out);
  }
  // 1.1: whether the secret is set and decodes per key_format. A 1.0 host cannot tell; then
  // this answers CRMH_UNSUPPORTED and the first hmac_sha256 call is where a bad secret shows.
  crmh_status check_secret(std::string_view secret_name, uint32_t key_format) const noexcept {
    if (!CRMH_HAS_FIELD(crmh_host_api, api_, check_secret) || api_->check_secret == nullptr)
      return CRMH_UNSUPPORTED;
    return api_->check_secret(context_, str(secret_name), key_format);
  }

  const crmh_host_api* api() const noexcept { return api_; }
  void* context() const noexcept { return context_; }

 private:
  const crmh_host_api* api_;
  void* context_;
};

// Where lookup_contact writes its JSON answer; the host copies before write returns.
class JsonSink {
 public:
  explicit JsonSink(crmh_json_sink sink) noexcept : sink_(sink) {}
  void write(std::string_view json) const noexcept { sink_.write(sink_.ctx, str(json)); }

 private:
  crmh_json_sink sink_;
};

// The CRM's published limits, for crmh_adapter.pacing_* (1.2); 0 = no such limit.
struct Pacing {
  uint32_t requests = 0;
  uint32_t window_ms = 0;
  uint32_t concurrency = 0;
};

namespace detail {

// Runs `body` and turns any exception into an outcome, so none crosses the C boundary.
template <class Body>
crmh_status guarded(crmh_result* out, Body&& body) noexcept {
  try {
    return body();
  } catch (const Error& e) {
    write_message(out, e.what());
    return e.status() == CRMH_OK ? CRMH_INTERNAL : e.status();  // a thrown OK is a bug
  } catch (const std::exception& e) {
    write_message(out, e.what());
  } catch (...) {
    write_message(out, "unknown exception");
  }
  return CRMH_INTERNAL;
}

// Detection of the optional parts of an adapter class.
template <class T, class = void>
struct has_description : std::false_type {};
template <class T>
struct has_description<T, std::void_t<decltype(T::description)>> : std::true_type {};
template <class T, class = void>
struct has_flags : std::false_type {};
template <class T>
struct has_flags<T, std::void_t<decltype(T::flags)>> : std::true_type {};
// `static constexpr crmh_oauth_provider oauth{...};` (1.1): the CRM's authorization server.
template <class T, class = void>
struct has_oauth : std::false_type {};
template <class T>
struct has_oauth<T, std::void_t<decltype(&T::oauth)>> : std::true_type {};
// `static constexpr const char* default_mapping = R"({...})";` (1.2): the default field mapping.
template <class T, class = void>
struct has_default_mapping : std::false_type {};
template <class T>
struct has_default_mapping<T, std::void_t<decltype(T::default_mapping)>> : std::true_type {};
// `static constexpr crmh::Pacing pacing{requests, window_ms, concurrency};` (1.2).
template <class T, class = void>
struct has_pacing : std::false_type {};
template <class T>
struct has_pacing<T, std::void_t<decltype(T::pacing)>> : std::true_type {};
template <class T, class = void>
struct has_lookup_contact : std::false_type {};
template <class T>
struct has_lookup_contact<T, std::void_t<decltype(&T::lookup_contact)>> : std::true_type {};
template <class T, class = void>
struct has_test_connection : std::false_type {};
template <class T>
struct has_test_connection<T, std::void_t<decltype(&T::test_connection)>> : std::true_type {};

// The C functions of the descriptor for adapter class Impl.
template <class Impl>
struct Trampolines {
  static crmh_status create(const crmh_host_api* host, void* host_ctx, crmh_str config_json,
                            void** instance, crmh_result* out) noexcept {
    return guarded(out, [&] {
      Impl* created = new Impl(Host(host, host_ctx), view(config_json));
      *instance = created;  // only after construction succeeded: untouched on failure
      return CRMH_OK;
    });
  }
  static void destroy(void* instance) noexcept { delete static_cast<Impl*>(instance); }
  static crmh_status deliver(void* instance, crmh_call* call, const crmh_delivery* delivery,
                             crmh_result* out) noexcept {
    return guarded(out, [&] {
      Result result(out);
      return static_cast<Impl*>(instance)->deliver(call, *delivery, result);
    });
  }
  static crmh_status lookup_contact(void* instance, crmh_call* call, const crmh_lookup* lookup,
                                    crmh_json_sink sink, crmh_result* out) noexcept {
    return guarded(out, [&] {
      Result result(out);
      return static_cast<Impl*>(instance)->lookup_contact(call, *lookup, JsonSink(sink), result);
    });
  }
  static crmh_status test_connection(void* instance, crmh_call* call, crmh_result* out) noexcept {
    return guarded(out, [&] {
      Result result(out);
      return static_cast<Impl*>(instance)->test_connection(call, result);
    });
  }
};

// The descriptor, with the checked fields taken from adapter.h as CRMH_DEFINE_ADAPTER does.
template <class Impl>
constexpr crmh_adapter make_descriptor() noexcept {
  crmh_adapter d{};
  d.struct_size = sizeof(crmh_adapter);
  d.abi_major = CRMH_ABI_MAJOR;
  d.abi_minor = CRMH_ABI_MINOR;
  d.min_host_minor = CRMH_MIN_HOST_MINOR;
  d.reserved = 0;
  d.build_signature = CRMH_BUILD_SIGNATURE;
  if constexpr (has_flags<Impl>::value) d.flags = Impl::flags;
  d.name = Impl::name;
  d.version = Impl::version;
  if constexpr (has_description<Impl>::value) d.description = Impl::description;
  d.create = &Trampolines<Impl>::create;
  d.destroy = &Trampolines<Impl>::destroy;
  d.deliver = &Trampolines<Impl>::deliver;
  if constexpr (has_lookup_contact<Impl>::value) {
    d.lookup_contact = &Trampolines<Impl>::lookup_contact;
  }
  if constexpr (has_test_connection<Impl>::value) {
    d.test_connection = &Trampolines<Impl>::test_connection;
  }
  if constexpr (has_oauth<Impl>::value) d.oauth = &Impl::oauth;
  if constexpr (has_default_mapping<Impl>::value) d.default_mapping = Impl::default_mapping;
  if constexpr (has_pacing<Impl>::value) {
    d.pacing_requests = Impl::pacing.requests;
    d.pacing_window_ms = Impl::pacing.window_ms;
    d.pacing_concurrency = Impl::pacing.concurrency;
  }
  return d;
}

// One static descriptor per adapter class, constant-initialized: it lives as long as the image.
template <class Impl>
inline constexpr crmh_adapter descriptor = make_descriptor<Impl>();

}  // namespace detail

// The body of crmh_adapter_entry for adapter class Impl (CRMH_CPP_ADAPTER writes the function).
template <class Impl>
const crmh_adapter* entry(uint16_t host_abi_major, uint16_t /*host_abi_minor*/) noexcept {
  return host_abi_major == CRMH_ABI_MAJOR ? &detail::descriptor<Impl> : nullptr;
}

}  // namespace v1
}  // namespace crmh

// Exports crmh_adapter_entry for adapter class Impl. Use once per image, at namespace scope.
#define CRMH_CPP_ADAPTER(Impl)                                                             \
  extern "C" CRMH_EXPORT const crmh_adapter* crmh_adapter_entry(uint16_t host_abi_major,   \
                                                                uint16_t host_abi_minor);  \
  extern "C" CRMH_EXPORT const crmh_adapter* crmh_adapter_entry(uint16_t host_abi_major,   \
                                                                uint16_t host_abi_minor) { \
    return ::crmh::v1::entry<Impl>(host_abi_major, host_abi_minor);                        \
  }

#endif  // CRMHOST_ADAPTER_HPP
