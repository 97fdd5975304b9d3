package live

// Buffers larger than this are not pooled: one huge snapshot must not pin
// megabytes for the life of the process.
const maxPooledBuf = 1 << 20

func (h *Hub) getBuf() *[]byte {
	if bp, ok := h.bufPool.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (h *Hub) putBuf(bp *[]byte, b []byte) {
	if cap(b) <= maxPooledBuf {
		*bp = b[:0]
		h.bufPool.Put(bp)
	}
}

func (h *Hub) getPositions() *[]Position {
	if pp, ok := h.posPool.Get().(*[]Position); ok {
		return pp
	}
	ps := make([]Position, 0, 256)
	return &ps
}

func (h *Hub) putPositions(pp *[]Position, ps []Position) {
	if cap(ps) <= 16384 {
		clear(ps)
		*pp = ps[:0]
		h.posPool.Put(pp)
	}
}
