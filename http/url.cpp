// Boost.URL, compiled into this library once: Debian ships its headers but no built
// libboost_url, and its src.hpp is the documented header-only way to build it.
#include <boost/url/src.hpp>
