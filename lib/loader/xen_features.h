// pvkit/loader/xen_features.h — parse the FEATURES note string of a PV guest image.
//
// What it is: `parse_feature_string()` turns Xen's "name|!name|..." list (names of
// public/features.h without the XENFEAT_ prefix; '!' marks a feature the kernel requires)
// into two bitmasks. Unknown optional names are ignored; an unknown required name is refused,
// as Xen does. Only submap 0 (features 0..31) exists.
//
// How to use it:
//   FeatureSet f{};
//   if (LoadError e = parse_feature_string(note_chars, f); e != LoadError::Ok) return e;
//
// Concurrency: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "pvkit/loader/load_error.h"

namespace pvkit::loader {

/// Feature bits named by an image: `supported` includes every `required` bit.
struct FeatureSet {
  std::uint32_t supported = 0;
  std::uint32_t required = 0;
};

/// XENFEAT_* names by bit number (public/features.h).
inline constexpr std::array<const char*, 18> kXenFeatureNames = {
    "writable_page_tables",     "writable_descriptor_tables", "auto_translated_physmap",
    "supervisor_mode_kernel",   "pae_pgdir_above_4gb",        "mmu_pt_update_preserve_ad",
    "highmem_assist",           "gnttab_map_avail_bits",      "hvm_callback_vector",
    "hvm_safe_pvclock",         "hvm_pirqs",                  "dom0",
    "grant_map_identity",       "memory_op_vnode_supported",  "ARM_SMCCC_supported",
    "linux_rsdp_unrestricted",  "not_direct_mapped",          "direct_mapped",
};

/// Bit number of a feature name of `len` chars, or -1.
constexpr int feature_bit(const char* s, std::size_t len) {
  for (std::size_t b = 0; b < kXenFeatureNames.size(); ++b) {
    const char* n = kXenFeatureNames[b];
    std::size_t k = 0;
    while (k < len && n[k] != 0 && n[k] == s[k]) ++k;
    if (k == len && n[k] == 0) return static_cast<int>(b);
  }
  return -1;
}

/// Parses `len` chars of a FEATURES string (without its NUL) into `out` (bits are OR-ed in).
constexpr LoadError parse_feature_string(const char* s, std::size_t len, FeatureSet& out) {
  std::size_t i = 0;
  while (i < len) {
    std::size_t end = i;
    while (end < len && s[end] != '|') ++end;
    std::size_t start = i;
    bool required = false;
    if (start < end && s[start] == '!') {
      required = true;
      ++start;
    }
    if (start < end) {
      const int bit = feature_bit(s + start, end - start);
      if (bit < 0) {
        if (required) return LoadError::UnknownRequiredFeature;
      } else {
        out.supported |= 1u << bit;
        if (required) out.required |= 1u << bit;
      }
    }
    i = end + 1;
  }
  return LoadError::Ok;
}

}  // namespace pvkit::loader
