//go:build !linux

package wamp

import "net"

// rawConn returns nc: raw reads and writes (rawconn_linux.go) are for Linux only.
func rawConn(nc net.Conn) net.Conn { return nc }

// monitoredRawConn returns nc (see rawConn).
func monitoredRawConn(nc net.Conn) net.Conn { return nc }
