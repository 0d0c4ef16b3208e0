// TEMPORARY (removed when each type lands): open functions for types whose file does not
// exist yet, so the tree links while they are written in parallel. Each helper deletes
// its functions from here when it adds the real ones.
//
// Every type in map_types.cpp now has its own file: this one is empty and can be deleted
// together with its line in lib/maps/meson.build.
#include "maps/map_openers.hpp"
