// Compiled for the bare-metal platform too: proves pvkit/domain needs no hosted library.
#include "pvkit/domain/domain_table.h"

namespace pvkit {
Domain* freestanding_check_domain(DomainTable<4>& t, DomId id) {
  static_assert(DomainDirectory<DomainTable<4>>);
  auto r = t.create(id, DomainConfig{.max_pages = 16});
  if (!r) return t.find(id);
  return *r;
}
}  // namespace pvkit
