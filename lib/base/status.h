// pvkit/base/status.h — `[[nodiscard]]` error values that map 1:1 onto Xen's errno.
//
// What it is: `Status` is either ok or one `Errno`; `Result<T>` is a T or a non-ok Status.
// `Status::guest_value()` is what a hypercall puts in RAX (0 or -errno). Neither type can be
// silently ignored: every function that can fail on guest input returns one of them.
//
// How to use it:
//   Status s = frames.get_page_type(mfn, PageType::L1);
//   if (!s) return s;                        // propagate
//   Result<EvtchnPort> p = alloc_port();  if (!p) return p.status();  use(*p);
//
// Concurrency: value types only.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "pvkit/base/errno.h"

namespace pvkit {

/// The result of an operation: Errno::Ok or a Xen errno; [[nodiscard]], so errors are never dropped silently.
class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  constexpr Status(Errno e) : e_(e) {}  // NOLINT: implicit from Errno by design
  /// The success value.
  static constexpr Status ok() { return Status{}; }

  /// True on success.
  [[nodiscard]] constexpr bool is_ok() const { return e_ == Errno::Ok; }
  constexpr explicit operator bool() const { return is_ok(); }
  /// The Xen errno (Errno::Ok on success).
  [[nodiscard]] constexpr Errno error() const { return e_; }
  /// True when the handler asked for a continuation (internal ERESTART).
  [[nodiscard]] constexpr bool is_restart() const { return e_ == Errno::Restart; }
  /// The value a hypercall returns in RAX: 0 or the negated Xen errno.
  [[nodiscard]] constexpr std::int64_t guest_value() const {
    return -static_cast<std::int64_t>(static_cast<std::int32_t>(e_));
  }

  friend constexpr bool operator==(Status, Status) = default;

 private:
  Errno e_ = Errno::Ok;
};

/// A value or a non-ok Status. T must be default-constructible and trivially copyable
/// enough for freestanding use (no exceptions; accessing the value of an error aborts in
/// debug builds through the caller's own check — always test `ok()` first).
template <typename T>
class [[nodiscard]] Result {
 public:
  constexpr Result(T v) : v_(std::move(v)) {}  // NOLINT: implicit by design
  constexpr Result(Errno e) : s_(e) {}         // NOLINT
  constexpr Result(Status s) : s_(s) {}        // NOLINT

  /// True if a value is present (the status is ok).
  [[nodiscard]] constexpr bool ok() const { return s_.is_ok(); }
  constexpr explicit operator bool() const { return ok(); }
  /// The status: ok, or the error this Result carries.
  [[nodiscard]] constexpr Status status() const { return s_; }
  constexpr T& operator*() { return v_; }
  constexpr const T& operator*() const { return v_; }
  constexpr T* operator->() { return &v_; }
  constexpr const T* operator->() const { return &v_; }
  /// The value; only meaningful when ok().
  [[nodiscard]] constexpr const T& value() const { return v_; }

 private:
  T v_{};
  Status s_{};
};

}  // namespace pvkit
