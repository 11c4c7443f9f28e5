//===- ClientConnection.h - Whether an HTTP client is there -----*- C++ -*-===//
//
// httplib 0.11 gives a handler no access to its socket (Request gained
// is_connection_closed only in later versions), so a request that waits for
// its jobs could not see its client go away. The socket is found among the
// process's descriptors by the connection's two addresses, which name one
// socket while its handler runs: httplib closes it only after the handler
// and any content provider have returned.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_CLIENTCONNECTION_H
#define KILN_TOOLS_KILNSERVE_CLIENTCONNECTION_H

#include <string>

namespace kiln::serve {

class ClientConnection {
public:
  // The connected socket whose local and peer addresses are these; none
  // found (an unusual address family): closed() is always false.
  ClientConnection(const std::string &localAddr, int localPort,
                   const std::string &remoteAddr, int remotePort);

  bool found() const { return fd >= 0; }
  // Whether the client closed or reset the connection. Valid only on the
  // thread serving the request, while it does.
  bool closed() const;

private:
  int fd = -1;
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_CLIENTCONNECTION_H
