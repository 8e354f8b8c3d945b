package router

import "github.com/cbx-wamp/cbx/internal/wamp"

// wsEndpoint is the production endpoint: internal/wamp's WebSocket connection.
type wsEndpoint struct {
	c *wamp.Conn
}

func (e wsEndpoint) Queue(m wamp.Message) error            { return e.c.Queue(m) }
func (e wsEndpoint) Flush() error                          { return e.c.Flush() }
func (e wsEndpoint) Encode(m wamp.Message) ([]byte, error) { return e.c.Encode(m) }
func (e wsEndpoint) QueueEncoded(b []byte) error           { return e.c.QueueEncoded(b) }
func (e wsEndpoint) Recv() (wamp.Message, error)           { return e.c.Recv() }
func (e wsEndpoint) SerializerName() string                { return e.c.Serializer().Name() }
func (e wsEndpoint) Close(code int, reason string)         { e.c.CloseWithCode(code, reason) }
