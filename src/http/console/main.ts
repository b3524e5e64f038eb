document.getElementById("app")!.textContent = "mq";
