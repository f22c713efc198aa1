// Uses only what keypool::redis propagates: the core and hiredis (hiredis::hiredis).
#include <hiredis/hiredis.h>
#include <keypool/keypool.hpp>

int main() {
  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) return 1;
  redisReaderFree(reader);
  return 0;
}
