"""The HMI's translations: lineside.ts lists every string (make translations); a
lineside_<locale>.ts made from it in Qt Linguist, compiled to .qm, is loaded by `lineside`."""
