// Compiled for the bare-metal platform too: proves pvkit/domain needs no hosted library, and that
// a DomainTable can be a constant-initialised global (no static constructor in an image).
#include "pvkit/domain/domain_table.h"

namespace pvkit {
constinit DomainTable<4> g_freestanding_check_domains;

Domain* freestanding_check_domain(DomainTable<4>& t, DomId id) {
  static_assert(DomainDirectory<DomainTable<4>>);
  auto r = t.create(id, DomainConfig{.max_pages = 16});
  if (!r) return t.find(id);
  return *r;
}
Domain* freestanding_check_domain_global(DomId id) { return freestanding_check_domain(g_freestanding_check_domains, id); }
}  // namespace pvkit
