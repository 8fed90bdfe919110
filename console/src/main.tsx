import { render } from "preact";
import { App } from "./app.js";
import "./styles/theme.css";

render(<App />, document.getElementById("app")!);
