import { useEffect, useState } from "preact/hooks";
import { matchPath, type Params } from "../router.js";
import type { PageModule, RouteDef } from "../routes.js";
import { ErrorText } from "./error_text.js";

/** Renders the page whose pattern matches `target`, loading its module on first visit. */
export function Outlet({ routes, target }: { routes: RouteDef[]; target: string }) {
  let found: { route: RouteDef; params: Params } | undefined;
  for (const route of routes) {
    const params = matchPath(route.pattern, target);
    if (params) {
      found = { route, params };
      break;
    }
  }
  const [loaded, setLoaded] = useState<{ route: RouteDef; module: PageModule } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    if (!found || loaded?.route === found.route) return;
    let live = true;
    setError(undefined);
    found.route.load().then(
      (module) => live && setLoaded({ route: found!.route, module }),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [found?.route]);

  if (!found) return <NotFound />;
  if (error) return <ErrorText error={error} />;
  // Until the new page's code arrives, the previous page stays: no blank flash between pages.
  if (!loaded) return <p class="muted" aria-busy="true">Loading…</p>;
  const Page = loaded.module.default;
  return <Page params={loaded.route === found.route ? found.params : {}} />;
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. <a href="#/devices">Go to devices</a>.
      </p>
    </section>
  );
}
