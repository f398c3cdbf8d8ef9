// Import walk of the product code (no dependency): folder-level edges (`folders`, `folders x` with the files)
// and file-level import cycles (`cycles`). Used for issue 15 §4: `DIRS=src-main,src-shared,src-renderer node scripts/ci/import-graph.mjs "$PWD" cycles`.
import fs from 'node:fs'; import path from 'node:path';
const root = process.argv[2] ?? '.';
const files = [];
function walk(d){ for (const e of fs.readdirSync(d,{withFileTypes:true})) { const p=path.join(d,e.name); if (e.isDirectory()) walk(p); else if (/\.ts$/.test(e.name) && !/\.test\.ts$|\.d\.ts$/.test(e.name)) files.push(p);} }
for (const d of (process.env.DIRS??'src-main').split(',')) walk(path.join(root,d));
const edges = new Map();
const rx = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
function resolve(from, spec){ if (!spec.startsWith('.')) return null; const b=path.resolve(path.dirname(from),spec); for (const c of [b, b+'.ts', path.join(b,'index.ts')]) if (fs.existsSync(c)&&fs.statSync(c).isFile()) return c; return null; }
for (const f of files){ const src=fs.readFileSync(f,'utf8'); const set=new Set(); let m; while((m=rx.exec(src))){ const r=resolve(f,m[1]??m[2]); if(r&&files.includes(r)) set.add(r);} edges.set(f,set); }
const rel = (f)=>path.relative(path.join(root,'src-main'),f);
const folder = (f)=>{ const r=rel(f).split(path.sep); return r.length>1? r.slice(0, r[0]==='core'&&r.length>2?2:1).join('/') : '.'; };
const mode = process.argv[3] ?? 'cycles';
if (mode==='folders'){ const fe=new Map(); for(const [f,s] of edges) for(const t of s){ const a=folder(f),b=folder(t); if(a!==b){ const k=a+' -> '+b; if(!fe.has(k)) fe.set(k,[]); fe.get(k).push(rel(f)+' -> '+rel(t)); } } for (const [k,v] of [...fe].sort()) console.log(k, v.length, process.argv[4]? '\n   '+v.join('\n   '):''); }
else { // folder-level cycles (strongly connected components of the folder graph, with witnessing edges)
  const fg=new Map(); for(const [f,s] of edges) for(const t of s){ const a=folder(f),b=folder(t); if(a===b) continue; if(!fg.has(a)) fg.set(a,new Map()); const m=fg.get(a); if(!m.has(b)) m.set(b,[]); m.get(b).push(rel(f)+' -> '+rel(t)); }
  // Tarjan
  let idx=0; const st=[], on=new Set(), ix=new Map(), low=new Map(), sccs=[];
  const nodes=new Set([...fg.keys(), ...[...fg.values()].flatMap(m=>[...m.keys()])]);
  function sc(v){ ix.set(v,idx); low.set(v,idx); idx++; st.push(v); on.add(v); for (const w of (fg.get(v)?.keys()??[])){ if(!ix.has(w)){ sc(w); low.set(v,Math.min(low.get(v),low.get(w))); } else if(on.has(w)) low.set(v,Math.min(low.get(v),ix.get(w))); } if(low.get(v)===ix.get(v)){ const c=[]; let w; do { w=st.pop(); on.delete(w); c.push(w);} while(w!==v); if(c.length>1) sccs.push(c);} }
  for (const n of nodes) if(!ix.has(n)) sc(n);
  for (const c of sccs){ console.log('FOLDER CYCLE:', c.join(' , ')); for (const a of c) for (const [b,ws] of fg.get(a)??[]) if (c.includes(b)) console.log('  ',a,'->',b,':',ws.join(' | ')); }
  // file-level cycles
  idx=0; st.length=0; on.clear(); ix.clear(); low.clear(); const fsccs=[];
  function sf(v){ ix.set(v,idx); low.set(v,idx); idx++; st.push(v); on.add(v); for (const w of edges.get(v)){ if(!ix.has(w)){ sf(w); low.set(v,Math.min(low.get(v),low.get(w))); } else if(on.has(w)) low.set(v,Math.min(low.get(v),ix.get(w))); } if(low.get(v)===ix.get(v)){ const c=[]; let w; do { w=st.pop(); on.delete(w); c.push(w);} while(w!==v); if(c.length>1) fsccs.push(c);} }
  for (const f of files) if(!ix.has(f)) sf(f);
  for (const c of fsccs) console.log('FILE CYCLE:', c.map(rel).join(' , '));
}
