#include "tools/postconf/postconf.hpp"

namespace postern::postconf {

int run_list_mode(const PostconfOptions&) {
    fatal("this mode is not implemented yet");
}

}  // namespace postern::postconf
