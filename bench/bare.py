"""The ceiling: the webhook route's shape on the same server settings, doing no work at all."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/stripe/webhooks")
async def webhook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"received": True})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8099, log_level="warning", access_log=False)
