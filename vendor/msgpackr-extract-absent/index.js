// msgpackr loads this inside try/catch and falls back to its pure-JavaScript decoder.
throw new Error('msgpackr-extract (native acceleration) is not installed in this project');
