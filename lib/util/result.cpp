#include "util/result.hpp"

namespace postern {

const char* error_kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::temporary:
            return "temporary";
        case ErrorKind::permanent:
            return "permanent";
        case ErrorKind::not_found:
            return "not found";
        case ErrorKind::corrupt:
            return "corrupt";
        case ErrorKind::io:
            return "I/O";
        case ErrorKind::config:
            return "configuration";
        case ErrorKind::protocol:
            return "protocol";
        case ErrorKind::timeout:
            return "timeout";
    }
    return "unknown";
}

}  // namespace postern
