//===- ClientConnection.cpp - Whether an HTTP client is still there -------===//

#include "tools/kiln-serve/ClientConnection.h"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

namespace kiln::serve {

namespace {

// The address as httplib writes it (getnameinfo, numeric host).
bool sameAddress(const sockaddr_storage &address, socklen_t length,
                 const std::string &host, int port) {
  char text[NI_MAXHOST], service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr *>(&address), length, text,
                  sizeof(text), service, sizeof(service),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  return atoi(service) == port && host == text;
}

} // namespace

ClientConnection::ClientConnection(const std::string &localAddr, int localPort,
                                   const std::string &remoteAddr,
                                   int remotePort) {
  DIR *descriptors = opendir("/proc/self/fd");
  if (!descriptors)
    return;
  while (dirent *entry = readdir(descriptors)) {
    char *end = nullptr;
    long candidate = strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || candidate == dirfd(descriptors))
      continue;
    int socket = static_cast<int>(candidate);
    sockaddr_storage peer{}, local{};
    socklen_t peerLength = sizeof(peer), localLength = sizeof(local);
    if (getpeername(socket, reinterpret_cast<sockaddr *>(&peer), &peerLength) !=
            0 ||
        getsockname(socket, reinterpret_cast<sockaddr *>(&local),
                    &localLength) != 0)
      continue;
    if (sameAddress(peer, peerLength, remoteAddr, remotePort) &&
        sameAddress(local, localLength, localAddr, localPort)) {
      fd = socket;
      break;
    }
  }
  closedir(descriptors);
}

bool ClientConnection::closed() const {
  if (fd < 0)
    return false;
  // POLLRDHUP: the client sent FIN; a pipelined next request alone is only
  // POLLIN.
  pollfd probe{fd, POLLRDHUP, 0};
  if (poll(&probe, 1, 0) <= 0)
    return false;
  return probe.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL);
}

} // namespace kiln::serve
