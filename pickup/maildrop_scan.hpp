// pickup's scan of queue_directory/maildrop/: every file that is ready (its owner-execute
// bit set by postdrop once the file was complete and durable) goes to cleanup
// (pickup_copy.hpp), and is removed when cleanup has queued it or when it is bad. The scan
// repeats while it finds files, so that mail dropped during a scan is not left for the
// next wake-up.
//
// The directory is writable by every user through postdrop; its entries are untrusted.
// Names that are not queue IDs are skipped (postdrop's temporary files have a '.'); a
// file is opened without following symbolic links and must be the regular file that was
// looked at, with one link (a hard link to another file is removed, not read); anything
// else that is not a regular file is reported at each scan and left alone, as Postfix does.
#pragma once

#include "pickup/pickup_copy.hpp"

namespace postern::pickup {

// Relative paths: pickup works in queue_directory (chrooted there or not).
void scan_maildrop(const PickupSettings& settings);

}  // namespace postern::pickup
