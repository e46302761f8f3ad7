// Package numbering numbers values in the order they are first met, so a
// value repeated on millions of rows (a shop, a kind, a file's sheet) is
// held once and referred to by a small number.
package numbering

// Of numbers values of type K with numbers of type I, from 0. The zero
// value is ready to use.
type Of[K comparable, I ~uint8 | ~uint32 | ~uint64] struct {
	ids  map[K]I
	vals []K
}

// ID is k's number, given the next one the first time k is met.
func (n *Of[K, I]) ID(k K) I {
	id, ok := n.ids[k]
	if !ok {
		if n.ids == nil {
			n.ids = map[K]I{}
		}
		id = I(len(n.vals))
		n.ids[k] = id
		n.vals = append(n.vals, k)
	}
	return id
}

// Value is the value numbered id.
func (n *Of[K, I]) Value(id I) K { return n.vals[id] }
