"""What holds across processes and over time: presence, budgets and seeks in Redis, the channel
layer, the referee, the computer's turns and this process's sockets."""
