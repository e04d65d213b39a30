// The PC platform's console hook for arch/x86 (which cannot depend on platforms/pc): the CPU
// layer writes its fault dumps through pvkit_arch_console_write.
#include <cstddef>

#include "pvkit/platforms/pc/log.h"

extern "C" void pvkit_arch_console_write(const char* s, std::size_t n) { pvkit::pc::console_write(s, n); }
