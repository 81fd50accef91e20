"""RudderStack event in, the exact Freshsales request(s) out, with a trace of every decision."""
